"""The parsers a declaration may name (``parser: sigpac_enclosure``), beside its type's own."""

from __future__ import annotations

from agrolake.transforms.parsers import NamedParser, parse_lower, parse_time, parse_upper
from agrolake.transforms.sigpac import parse_enclosure_id, parse_municipality_id

NAMED_PARSERS: dict[str, NamedParser] = {
    "sigpac_enclosure": NamedParser(
        parse_enclosure_id,
        "enclosure_id",
        "SIGPAC enclosure id, seven parts, written in canonical form (44-4-0-0-34-134-1)",
    ),
    "sigpac_municipality": NamedParser(
        parse_municipality_id,
        "location_id",
        "SIGPAC municipality, province and municipality (50-73)",
    ),
    "time_of_day": NamedParser(parse_time, "time", "a time of day, as HH:MM"),
    "upper": NamedParser(parse_upper, None, "text in upper case"),
    "lower": NamedParser(parse_lower, None, "text in lower case"),
}
