"""Parcels (SIGPAC enclosures) and their plant protection treatments workbook."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from agrolake.samples import _catalog as cat

PARCEL_HEADERS = [
    "ProductorNIF",
    "Cosecha",
    "Provincia Id",
    "Municipio Id",
    "Poligono",
    "Parcela",
    "Recinto",
    "Paraje",
    "Agregado",
    "Zona",
    "OrdenPAC",
    "SubOrdenPac",
    "SuperficieSIGPAC",
    "SuperficieCultivo",
    "Cultivo Id",
    "ParcelaVariedad Id",
    "SistemaDeRiego",
    "RegimenTenenciaId",
    "AñoPlantacion",
    "Nº Arboles",
    "Marcoplantacionh",
    "Marcoplantacionv",
    "Densidaddesiembra",
    "ATRIA / ADV / ASV",
    "ZonaVulnerable",
    "ZonaEspecifica",
    "UsoParcela",
    "Asesoramiento",
    "Pendiente %",
    "UHC",
    "Descripción UHC",
    "Zona Zepa",
    "Zona SIE",
]

TREATMENT_HEADERS = [
    "MovimientoCosecha",
    "MovimientoFechaDeInicio",
    "Producto",
    "ProductoNombre",
    "Formulado",
    "TratamientosPlagaEfectosEnPlagasId",
    "EfectosEnPlagas",
    "TratamientosPlagaMalasHierbasId",
    "SecUserNombre",
    "SecUserNIF",
    "SecUserId",
    "ParcelaProvinciaId",
    "ParcelaMunicipioId",
    "ParcelaPoligono",
    "Parcela",
    "ParcelaRecinto",
    "ParcelaParaje",
    "ParcelaAgregado",
    "ParcelaZona",
    "ParcelaCosechaCodigoPAC",
    "ParcelaCosechaCultivoPAC",
    "Caldo",
    "TipoDeDosisId",
    "TipoDeDosisDetalle",
    "MovimientoParcelaSuperficieTratada",
    "Cantidad",
    "MovimientoPlazoDeSeguridad",
    "MovimientoDosis",
    "ParcelaSuperficieCultivo",
    "ParcelaSuperficieSIGPAC",
    "ParcelaZonaVulnerable",
    "UsoDeParcelasId",
]

# Optional columns where real exports carry "NP"/"NULL"/blank now and then.
OPTIONAL = {
    "Paraje",
    "Densidaddesiembra",
    "ATRIA / ADV / ASV",
    "ZonaEspecifica",
    "Asesoramiento",
    "Pendiente %",
    "UHC",
    "Descripción UHC",
    "Zona Zepa",
    "Zona SIE",
    "RegimenTenenciaId",
}
MISSING_RATE = 0.04


@dataclass(frozen=True)
class Parcel:
    """One enclosure declared for one harvest, with the fields both sheets need."""

    nif: str
    harvest: int
    province: int
    municipality: int
    polygon: int
    parcel: int
    enclosure: int
    aggregate: int
    zone: int
    paraje: str
    crop: str
    variety: str
    sigpac_ha: float
    crop_ha: float
    frame: tuple[float, float]
    irrigation: str
    vulnerable: str

    @property
    def recinto_id(self) -> str:
        """SIGPAC composite id: province-municipality-aggregate-zone-polygon-parcel-enclosure."""
        return (
            f"{self.province}-{self.municipality}-{self.aggregate}-{self.zone}-"
            f"{self.polygon}-{self.parcel}-{self.enclosure}"
        )


def _floor4(x: float) -> float:
    # Round down so derived areas never exceed the area they were cut from.
    return math.floor(x * 10_000) / 10_000


def parcel_stream(seed: int) -> Iterator[Parcel]:
    """Endless, deterministic stream of distinct enclosures for ``seed``.

    A stream (rather than a function of ``rows``) makes the first N parcels the
    same for any requested size, so activity files generated with the same seed
    point at enclosures that exist in the parcels workbook.
    """
    rng = random.Random(f"{seed}:parcels")
    producers = [cat.nif(rng) for _ in range(12)]
    provinces = list(cat.PROVINCE_WEIGHTS)
    crops = list(cat.CROP_WEIGHTS)
    seen: set[tuple[int, ...]] = set()
    while True:
        province = rng.choices(provinces, weights=list(cat.PROVINCE_WEIGHTS.values()))[0]
        municipality = rng.choice(cat.MUNICIPALITIES[province])[0]
        polygon, parcel = rng.randint(1, 60), rng.randint(1, 400)
        enclosure = rng.choice([1, 1, 1, 2, 2, 3, 4])
        aggregate, zone = (0, 0) if rng.random() < 0.95 else (rng.randint(1, 3), 0)
        key = (province, municipality, aggregate, zone, polygon, parcel, enclosure)
        if key in seen:
            continue
        seen.add(key)
        crop = rng.choices(crops, weights=list(cat.CROP_WEIGHTS.values()))[0]
        _, _, _, varieties, frames = cat.CROPS[crop]
        sigpac = round(min(45.0, max(0.05, math.exp(rng.gauss(0.4, 0.9)))), 4)
        yield Parcel(
            nif=rng.choice(producers),
            harvest=rng.choice([2021, 2022, 2023, 2023, 2024, 2024]),
            province=province,
            municipality=municipality,
            polygon=polygon,
            parcel=parcel,
            enclosure=enclosure,
            aggregate=aggregate,
            zone=zone,
            paraje=cat.PARAJES[(polygon * 7 + municipality) % len(cat.PARAJES)],
            crop=crop,
            variety=rng.choice(varieties),
            sigpac_ha=sigpac,
            crop_ha=_floor4(sigpac * rng.uniform(0.85, 1.0)),
            frame=rng.choice(frames),
            irrigation=rng.choice(cat.IRRIGATION),
            vulnerable="S" if rng.random() < 0.2 else "N",
        )


def make_parcels(seed: int, rows: int) -> list[Parcel]:
    """The first ``rows`` parcels of the stream for ``seed``."""
    stream = parcel_stream(seed)
    return [next(stream) for _ in range(rows)]


def _missing(rng: random.Random, value: object) -> object:
    if rng.random() < MISSING_RATE:
        return rng.choice(["NP", "NULL", None])
    return value


def _parcel_row(rng: random.Random, p: Parcel, orden: int) -> list[object]:
    h, v = p.frame
    per_ha = 10_000 / (h * v)
    oldest = 1975 if p.variety in cat.OLD_VARIETIES else 1998
    uhc, uhc_name = cat.UHC[p.province]
    values = {
        "ProductorNIF": p.nif,
        "Cosecha": p.harvest,
        "Provincia Id": p.province,
        "Municipio Id": p.municipality,
        "Poligono": p.polygon,
        "Parcela": p.parcel,
        "Recinto": p.enclosure,
        "Paraje": p.paraje,
        "Agregado": p.aggregate,
        "Zona": p.zone,
        "OrdenPAC": orden,
        "SubOrdenPac": 1 if rng.random() < 0.1 else 0,
        "SuperficieSIGPAC": p.sigpac_ha,
        "SuperficieCultivo": p.crop_ha,
        "Cultivo Id": cat.CROPS[p.crop][0],
        "ParcelaVariedad Id": p.variety,
        "SistemaDeRiego": p.irrigation,
        "RegimenTenenciaId": rng.choice([1, 1, 1, 2, 3]),
        "AñoPlantacion": rng.randint(oldest, p.harvest - 3),
        # Trees follow area and frame, minus a few marras (failed trees).
        "Nº Arboles": max(1, round(p.crop_ha * per_ha * rng.uniform(0.92, 1.0))),
        "Marcoplantacionh": h,
        "Marcoplantacionv": v,
        "Densidaddesiembra": round(per_ha),
        "ATRIA / ADV / ASV": "S" if rng.random() < 0.3 else "N",
        "ZonaVulnerable": p.vulnerable,
        "ZonaEspecifica": "N",
        "UsoParcela": cat.CROPS[p.crop][2],
        "Asesoramiento": "S" if rng.random() < 0.6 else "N",
        "Pendiente %": round(rng.uniform(0.5, 18.0), 1),
        "UHC": uhc,
        "Descripción UHC": uhc_name,
        "Zona Zepa": "S" if rng.random() < 0.1 else "N",
        "Zona SIE": "S" if rng.random() < 0.05 else "N",
    }
    return [_missing(rng, values[h]) if h in OPTIONAL else values[h] for h in PARCEL_HEADERS]


def _treatment_row(rng: random.Random, p: Parcel, applicator: tuple[str, str, int]) -> list[object]:
    product = rng.choice(cat.PRODUCTS)
    reg, name, formulation, kind, (lo, hi), dose_type, unit, safety, months = product
    first, last = datetime(p.harvest, months[0], 1), datetime(p.harvest, months[1] + 1, 1)
    when = first + timedelta(days=rng.randrange((last - first).days))
    dose = round(rng.uniform(lo, hi), 2)
    # Herbicides often go on the tree row only: part of the cultivated area.
    share = rng.uniform(0.3, 0.95) if kind == "H" and rng.random() < 0.5 else 1.0
    treated = _floor4(p.crop_ha * share)
    if kind == "H":
        pest_id, weed_id, effect = None, *rng.choice(cat.WEEDS)
    else:
        (pest_id, effect), weed_id = rng.choice(cat.TARGETS[p.crop][kind]), None
    code, pac_name, use = cat.CROPS[p.crop][0], cat.CROPS[p.crop][1], cat.CROPS[p.crop][2]
    caldo = rng.choice([200, 250, 300]) if kind == "H" else rng.choice([400, 600, 800, 1000])
    return [
        p.harvest,
        when,
        reg,
        name,
        formulation,
        pest_id,
        effect,
        weed_id,
        *applicator,
        p.province,
        p.municipality,
        p.polygon,
        p.parcel,
        p.enclosure,
        p.paraje,
        p.aggregate,
        p.zone,
        code,
        pac_name,
        caldo,
        dose_type,
        unit,
        treated,
        round(dose * treated, 3),
        safety if safety is not None else "NP",
        dose,
        p.crop_ha,
        p.sigpac_ha,
        p.vulnerable,
        use,
    ]


def write_parcels_and_treatments(
    path: Path, *, rows: int, seed: int, _drop: tuple[str, ...] = ()
) -> Path:
    """Write a parcels + treatments workbook like a cooperative's SIGPAC/PAC export.

    Sheet ``Parcelas`` has ``rows`` enclosures (one harvest each) with the exact
    Spanish headers of the real export; sheet ``Tratamientos`` has 1 to 4 plant
    protection treatments per parcel that reference those enclosures and harvest
    years, with real Excel dates. ``_drop`` removes Parcelas columns (used to
    build a deliberately broken file). Same ``seed`` gives byte-identical files.
    """
    path = Path(path)
    parcels = make_parcels(seed, rows)
    rng = random.Random(f"{seed}:parcel-rows")
    orders: dict[tuple[str, int], int] = {}
    parcel_rows = []
    for p in parcels:
        orders[(p.nif, p.harvest)] = orders.get((p.nif, p.harvest), 0) + 1
        parcel_rows.append(_parcel_row(rng, p, orders[(p.nif, p.harvest)]))
    keep = [i for i, h in enumerate(PARCEL_HEADERS) if h not in _drop]
    trng = random.Random(f"{seed}:treatments")
    applicators = [(n, cat.nif(trng), 1000 + i) for i, n in enumerate(cat.APPLICATORS)]
    treatments = [
        _treatment_row(trng, p, trng.choice(applicators))
        for p in parcels
        for _ in range(trng.randint(1, 4))
    ]
    treatments.sort(key=lambda r: cast(datetime, r[1]))  # exports list movements by date
    parcel_sheet = [[r[i] for i in keep] for r in parcel_rows]
    return cat.write_xlsx(
        path,
        [
            ("Parcelas", [PARCEL_HEADERS[i] for i in keep], parcel_sheet),
            ("Tratamientos", TREATMENT_HEADERS, treatments),
        ],
    )
