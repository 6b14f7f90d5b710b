"""Reference data for the sample generators: places, crops, products, pests.

Province and municipality ids are real INE codes (SIGPAC uses the INE
municipality number without its check digit) from Spanish almond areas, so the
samples exercise realistic id ranges. Crop ids and product registration numbers
are plausible stand-ins, not an official list.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import xlsxwriter

# province id -> [(municipality id, name)]; the names only document the codes.
MUNICIPALITIES: dict[int, list[tuple[int, str]]] = {
    50: [(73, "Cariñena"), (74, "Caspe"), (18, "Alfamén"), (4, "Aguarón")],
    22: [(1, "Abiego"), (3, "Adahuesca"), (7, "Albalate de Cinca")],
    44: [(4, "Aguaviva"), (8, "Albalate del Arzobispo")],
    30: [(22, "Jumilla"), (24, "Lorca"), (15, "Caravaca de la Cruz"), (19, "Cieza")],
    2: [(9, "Almansa"), (37, "Hellín"), (29, "Chinchilla de Monte-Aragón")],
}
PROVINCE_WEIGHTS = {50: 4, 22: 2, 44: 2, 30: 3, 2: 2}

# UHC (homogeneous crop unit for integrated pest management) per province.
UHC = {
    50: (5, "Valle Medio del Ebro"),
    22: (3, "Somontano y Bajo Cinca"),
    44: (7, "Bajo Aragón"),
    30: (12, "Noroeste y Altiplano"),
    2: (9, "Campos de Hellín y Almansa"),
}

PARAJES = [
    "La Val",
    "El Saso",
    "Los Llanos",
    "Camino de la Ermita",
    "La Plana",
    "Val de Urrea",
    "El Pinar",
    "Cabezo Gordo",
    "La Loma",
    "Los Almendrales",
    "Fuente del Rey",
    "El Hondo",
    "Corral Blanco",
    "La Cañada",
    "Mas de Royo",
]

# crop key -> (Cultivo Id, PAC name, SIGPAC use, varieties, planting frames h x v)
CROPS = {
    "almendro": (
        104,
        "ALMENDRO",
        "FS",
        ["Guara", "Marcona", "Largueta", "Lauranne", "Soleta", "Belona", "Vairo", "Penta"],
        [(7.0, 6.0), (7.0, 7.0), (6.0, 5.0), (8.0, 6.0), (6.0, 6.0), (4.0, 1.5)],
    ),
    "olivo": (
        103,
        "OLIVAR",
        "OV",
        ["Empeltre", "Arbequina", "Cornicabra"],
        [(7.0, 7.0), (6.0, 6.0), (4.0, 1.5)],
    ),
    "vina": (
        102,
        "VIÑEDO UVA PARA VINO",
        "VI",
        ["Garnacha", "Tempranillo", "Macabeo"],
        [(3.0, 1.5), (2.8, 1.2), (3.0, 1.2)],
    ),
}
CROP_WEIGHTS = {"almendro": 17, "olivo": 2, "vina": 1}
OLD_VARIETIES = {"Marcona", "Largueta", "Empeltre", "Garnacha"}

IRRIGATION = [
    "Secano",
    "Secano",
    "Secano",
    "Regadío goteo",
    "Regadío goteo",
    "Regadío aspersión",
    "Regadío gravedad",
]

# Plant protection products: (registration no., name, formulation, kind,
# dose range, dose type id, dose unit, safety period days or None, months).
PRODUCTS = [
    (
        25781,
        "OXICLORURO COBRE 50 WP",
        "Oxicloruro de cobre 50% [WP] p/p",
        "F",
        (2.0, 3.0),
        1,
        "kg/ha",
        15,
        (1, 3),
    ),
    (18402, "AZUFRE MOJABLE 80 WG", "Azufre 80% [WG] p/p", "F", (3.0, 5.0), 1, "kg/ha", 5, (4, 7)),
    (22907, "CAPTAN 80 WG", "Captan 80% [WG] p/p", "F", (1.5, 2.5), 1, "kg/ha", 21, (2, 4)),
    (
        24358,
        "TEBUCONAZOL 25 EW",
        "Tebuconazol 25% [EW] p/v",
        "F",
        (0.5, 1.0),
        2,
        "l/ha",
        28,
        (3, 5),
    ),
    (
        23110,
        "DELTAMETRINA 2.5 EC",
        "Deltametrina 2,5% [EC] p/v",
        "I",
        (0.3, 0.5),
        2,
        "l/ha",
        7,
        (4, 7),
    ),
    (
        25003,
        "ACETAMIPRID 20 SG",
        "Acetamiprid 20% [SG] p/p",
        "I",
        (0.2, 0.35),
        1,
        "kg/ha",
        14,
        (3, 5),
    ),
    (
        19876,
        "ACEITE DE PARAFINA 83 EC",
        "Aceite de parafina 83% [EC] p/v",
        "I",
        (10.0, 15.0),
        2,
        "l/ha",
        None,
        (1, 2),
    ),
    (25489, "GLIFOSATO 36 SL", "Glifosato 36% [SL] p/v", "H", (2.0, 4.0), 2, "l/ha", None, (3, 10)),
    (
        24012,
        "OXIFLUORFEN 24 EC",
        "Oxifluorfen 24% [EC] p/v",
        "H",
        (1.0, 2.0),
        2,
        "l/ha",
        None,
        (1, 3),
    ),
]

# Targets per crop and product kind: (id, description). Weeds ("H") fill the
# TratamientosPlagaMalasHierbasId column, the others the pest-effects column.
TARGETS = {
    "almendro": {
        "F": [
            (101, "Lepra (Taphrina deformans)"),
            (102, "Cribado (Wilsonomyces carpophilus)"),
            (103, "Mancha ocre (Polystigma ochraceum)"),
            (104, "Monilia (Monilinia laxa)"),
            (105, "Fusicoccum (Phomopsis amygdali)"),
        ],
        "I": [
            (201, "Pulgón verde (Myzus persicae)"),
            (202, "Tigre del almendro (Monosteira unicostata)"),
            (203, "Anarsia (Anarsia lineatella)"),
            (204, "Avispilla del almendro (Eurytoma amygdali)"),
        ],
    },
    "olivo": {
        "F": [(111, "Repilo (Fusicladium oleagineum)")],
        "I": [(211, "Mosca del olivo (Bactrocera oleae)"), (212, "Prays (Prays oleae)")],
    },
    "vina": {
        "F": [(121, "Oídio (Erysiphe necator)"), (122, "Mildiu (Plasmopara viticola)")],
        "I": [(221, "Polilla del racimo (Lobesia botrana)")],
    },
}
WEEDS = [
    (301, "Malas hierbas anuales de hoja ancha"),
    (302, "Gramíneas anuales"),
    (303, "Malas hierbas vivaces"),
]

APPLICATORS = [
    "GARCÍA LÓPEZ, JOSÉ",
    "MARTÍNEZ SANZ, ANA",
    "LÓPEZ GIL, PEDRO",
    "NAVARRO PÉREZ, CARMEN",
    "SÁNCHEZ MOLINA, JAVIER",
    "ROYO BAILO, MARÍA PILAR",
]

NIF_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"

# Fixed document timestamp: xlsxwriter otherwise stamps "now" into docProps/core.xml.
FIXED_CREATED = datetime(2024, 1, 1, 0, 0, 0)


def nif(rng: random.Random) -> str:
    """A Spanish NIF-looking id: 8 digits plus the real mod-23 control letter."""
    number = rng.randrange(10_000_000, 80_000_000)
    return f"{number:08d}{NIF_LETTERS[number % 23]}"


Sheet = tuple[str, list[str], Sequence[Sequence[object]]]


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> Path:
    """Write sheets of (name, headers, rows) reproducibly: fixed metadata, in-memory zip."""
    # in_memory also pins the zip entry timestamps to 1980-01-01 inside xlsxwriter.
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True, "default_date_format": "dd/mm/yyyy"})
    wb.set_properties({"created": FIXED_CREATED, "author": "agrolake samples"})
    bold = wb.add_format({"bold": True})
    for name, headers, rows in sheets:
        ws = wb.add_worksheet(name)
        ws.write_row(0, 0, headers, bold)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if value is not None:  # None stays a truly empty cell
                    ws.write(r, c, value)
    wb.close()
    return path
