"""Cleaning once per distinct value gives exactly the rows of the row-wise cleaning."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from agrolake.datasets.cleaning import by_value_of, cleaning_of
from agrolake.datasets.model import CleanOptions
from agrolake.datasets.registry import builtin
from agrolake.samples import write_activities
from agrolake.transforms.by_value import ByValue, split_by_value, split_rows
from tests.builtin import (
    ACTIVITIES_BY_VALUE,
    clean_activities,
)

DEFAULT = CleanOptions()
KEY = ("enclosure_id", "activity_date", "task")
COLUMNS = ("FECHA", "TAREA-PRODUCTO-DOSIS", "PARCELA", "RECINTO ID")

# Values that are easy to get wrong: padding, null markers in any case, blanks,
# separators with and without spaces, accents, dates in every form and impossible ones.
TRICKY: dict[str, list[str | None]] = {
    "FECHA": [
        "05/02/2023", " 05/02/2023 ", "5/2/2023", "2023-02-05", "2023-02-05 00:00:00",
        "2023-2-5", "31/02/2023", "29/02/2024", "05/02/2023 10:30", "2023/02/05",
        "NP", "np", "NaN", "NULL", "null", "", "   ", None, "05-02-2023", "٠٥/٠٢/٢٠٢٣",
    ],
    "TAREA-PRODUCTO-DOSIS": [
        "PODA", " poda ", "Poda", "ABONADO - NPK 15-15-15 - 300 kg/ha",
        " ABONADO - NPK 15-15-15 - 300 kg/ha ", "RIEGO - - 25 m3/ha", "RIEGO -  - 25 m3/ha",
        "TRATAMIENTO - CAPTAN 80 WG", "FERTIRRIGACIÓN - ÁCIDO FOSFÓRICO 75% - 15 l/ha",
        "fertirrigación - ácido fosfórico 75% - 15 l/ha", "A-B-C", "A - B - C - D",
        "- PRODUCTO -", " - ", "NP", "NaN", "nan", "NULL", "", None, "TAREA\t-\tX",
    ],
    "PARCELA": [
        "LA VAL 68", " la val 68 ", "LA VAL  68", "CAÑADA ALTA 3", "cañada alta 3", "NP",
        "NULL", "nan", "", None,
    ],
    "RECINTO ID": [
        "44-8-0-0-1-68-1", " 44-08-0-0-001-68-01 ", "44 - 8 - 0 - 0 - 1 - 68 - 1",
        "044-8-0-0-1-68-1", "44-8-0-0-1-68", "44-8-0-0-1-68-1-2", "44-8-0-0-1-68-x",
        "44--0-0-1-68-1", "-44-8-0-0-1-68-1", "0-0-0-0-0-0-0", "00-00-0-0-0-0-000",
        "44-8-0-0-1-68-١", "NP", "NULL", "", None, "44\t-8-0-0-1-68-1",
    ],
}  # fmt: skip


def assert_same(
    raw: pl.DataFrame,
    key: Sequence[str] = KEY,
    by_value: ByValue = ACTIVITIES_BY_VALUE,
    options: CleanOptions = DEFAULT,
) -> None:
    def clean(lf: pl.LazyFrame) -> pl.LazyFrame:
        return clean_activities(lf, options)

    reference = split_rows(raw, clean, key)
    fast = split_by_value(raw, clean, by_value, key)
    assert_frame_equal(fast.valid, reference.valid)
    assert_frame_equal(fast.failed, reference.failed)


def tricky_frame(rows: int, seed: int) -> pl.DataFrame:
    """``rows`` rows mixing the tricky values: repeated keys, valid and invalid rows."""
    rng = random.Random(seed)
    data = {c: [rng.choice(values) for _ in range(rows)] for c, values in TRICKY.items()}
    return pl.DataFrame(data, schema=dict.fromkeys(COLUMNS, pl.String))


@pytest.mark.parametrize("seed", range(4))
def test_tricky_values_give_the_same_rows(seed: int) -> None:
    raw = tricky_frame(3_000, seed)
    reference = split_rows(raw, clean_activities, key=KEY)
    # Every path is exercised: valid rows, duplicate keys, quarantined rows.
    assert 0 < reference.valid.height < raw.height - reference.failed["_row"].n_unique()
    assert reference.failed.height > 0
    assert_same(raw)
    assert_same(raw, key=())


def test_each_tricky_value_of_a_column_among_valid_ones() -> None:
    """One row per tricky value, the other columns valid: every value's own outcome."""
    valid: dict[str, str | None] = {"FECHA": "05/02/2023", "TAREA-PRODUCTO-DOSIS": "PODA"}
    valid |= {"PARCELA": "LA VAL 68", "RECINTO ID": "44-8-0-0-1-68-1"}
    rows = [valid | {column: value} for column, values in TRICKY.items() for value in values]
    raw = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String))
    assert_same(raw)
    assert_same(raw, key=())


def test_every_combination_of_a_few_values() -> None:
    few = {c: values[:3] + values[-3:] for c, values in TRICKY.items()}
    rows = list(itertools.product(*few.values()))
    raw = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String), orient="row")
    assert_same(pl.concat([raw, raw.reverse()]))


def test_keys_with_too_many_parts_to_number(monkeypatch: pytest.MonkeyPatch) -> None:
    import agrolake.transforms.by_value

    monkeypatch.setattr(agrolake.transforms.by_value, "MAX_KEY_NUMBER", 1)
    assert_same(tricky_frame(3_000, seed=11))


def test_categorical_columns_give_the_same_rows() -> None:
    raw = tricky_frame(2_000, seed=7)
    coded = raw.select(pl.col(c).cast(pl.Categorical(pl.Categories.random())) for c in COLUMNS)
    fast = split_by_value(coded, clean_activities, ACTIVITIES_BY_VALUE, key=KEY)
    reference = split_rows(raw, clean_activities, key=KEY)
    assert_frame_equal(fast.valid, reference.valid)
    assert_frame_equal(fast.failed, reference.failed)
    # The process-wide categories hold other values too: each column is re-encoded.
    shared = raw.select(pl.col(c).cast(pl.Categorical()) for c in COLUMNS)
    assert_frame_equal(
        split_by_value(shared, clean_activities, ACTIVITIES_BY_VALUE, key=KEY).valid,
        reference.valid,
    )


def test_headers_spelled_otherwise_and_an_absent_column() -> None:
    raw = tricky_frame(1_000, seed=3).rename({"FECHA": " fecha ", "RECINTO ID": '"Recinto Id"'})
    assert_same(raw)
    assert_same(raw.drop("PARCELA"))
    assert_same(raw.drop('"Recinto Id"'))  # every row fails: not_null


def test_no_rows_and_a_sample_file(tmp_path: Path) -> None:
    empty = pl.DataFrame(schema=dict.fromkeys(COLUMNS, pl.String))
    assert_same(empty)
    sample = write_activities(tmp_path / "a.csv", rows=200, seed=5)
    assert_same(pl.read_csv(sample, infer_schema=False))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            *(
                st.one_of(st.sampled_from(values), st.text(max_size=12))
                for values in TRICKY.values()
            )
        ),
        max_size=40,
    )
)
def test_any_rows_give_the_same_rows(rows: list[tuple[str | None, ...]]) -> None:
    raw = pl.DataFrame(rows, schema=dict.fromkeys(COLUMNS, pl.String), orient="row")
    assert_same(raw)


@settings(max_examples=40, deadline=None)
@given(st.randoms(use_true_random=False))
def test_each_declared_output_depends_on_its_column_alone(rng: random.Random) -> None:
    """The declaration itself: shuffling the other columns leaves a column's outputs as they are."""
    raw = tricky_frame(200, seed=rng.randrange(1_000))
    cleaned = clean_activities(raw.lazy()).collect()
    for column, outputs in ACTIVITIES_BY_VALUE.outputs.items():
        shuffled = raw.with_columns(
            pl.col(c).shuffle(seed=rng.randrange(1_000)) for c in COLUMNS if c != column
        )
        again = clean_activities(shuffled.lazy()).collect()
        assert_frame_equal(again.select(outputs), cleaned.select(outputs))
        mine = pl.element().struct.field("column").is_in(list(outputs))
        errors = pl.col("_errors").list.filter(mine)
        assert_frame_equal(again.select(errors), cleaned.select(errors))


def test_every_declared_cleaning_lists_all_its_outputs(tmp_path: Path) -> None:
    sample = write_activities(tmp_path / "a.csv", rows=50, seed=1)
    raw = pl.read_csv(sample, infer_schema=False)
    declared = [t for d in builtin()[0] for t in d.tables if t.by_value]
    assert declared, "erp.activities declares its cleaning separable"
    for table in declared:
        by_value = by_value_of(table)
        assert by_value is not None
        options = CleanOptions(include_personal_data=True)
        cleaning = cleaning_of(table)
        cleaned = cleaning(raw.lazy(), options).collect_schema().names()
        listed = {o for outputs in by_value.outputs.values() for o in outputs}
        assert set(cleaned) - {"_errors"} == listed
        split_by_value(raw, partial(cleaning, options=options), by_value, table.key)


def test_an_undeclared_output_is_refused() -> None:
    partial = ByValue({k: v for k, v in ACTIVITIES_BY_VALUE.outputs.items() if k != "PARCELA"})
    with pytest.raises(ValueError, match="parcel_name"):
        split_by_value(tricky_frame(10, seed=1), clean_activities, partial)
