"""Build a small lake with the previous release (the commit before datasets/)."""
from pathlib import Path
from agrolake.lake import Lake
from agrolake.settings import Settings
from agrolake.pipeline import run_all
from agrolake.landing import process_landing
from agrolake.samples import write_activities, write_parcels_and_treatments, write_wine_quality, write_bad_files
files = Path("files"); files.mkdir()
wb = write_parcels_and_treatments(files / "Recintos_Almendros.xlsx", rows=6, seed=3)
act = write_activities(files / "actividades.csv", rows=15, seed=3)
lines = act.read_text().splitlines(); lines[2] = "31/02/2024" + lines[2][10:]
act.write_text("\n".join(lines) + "\n")
wine = write_wine_quality(files / "winequality.csv", rows=20, seed=2)
bad = write_bad_files(files / "bad", seed=3)[0]
(files / "ndvi.csv").write_text("date;enclosure_id;ndvi\n01/04/2023;50-73-0-0-12-34-1;0,61\n")
lake = Lake(Settings(home=Path("home"), train_on_run=False)); lake.init()
for p in [wb, act, wine, bad, files / "ndvi.csv", wb]:
    lake.store.put("landing", ("copia/" if p == wb and lake.catalog.find(dataset="erp.parcels_and_treatments") else "") + p.name, p.read_bytes())
    process_landing(lake)
print("\n".join(run_all(lake).lines()))
(files / "pendiente").mkdir()
lake.store.put("landing", "pendiente/winequality_nuevo.csv", write_wine_quality(files / "w2.csv", rows=12, seed=9).read_bytes())
print(lake.catalog.count_by_status())
