-- Run once by the postgres image when its data volume is new (docker-entrypoint-initdb.d).
-- POSTGRES_DB creates the catalog's database; MLflow and Prefect get one each.
CREATE DATABASE mlflow;
CREATE DATABASE prefect;
