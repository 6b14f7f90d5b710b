"""Move rejected files back to landing, once their declaration (or the file) is fixed."""

from __future__ import annotations

from agrolake.errors import ObjectExists, UsageError
from agrolake.lake import Lake
from agrolake.lake.catalog import INVALID
from agrolake.zones.landing import REASON_SUFFIX


def replay(lake: Lake, keys: list[str] | None = None) -> list[str]:
    """Put invalid files back at their landing keys; ``None`` replays them all.

    A key may be the invalid key or the ingest id. Returns the landing keys.
    The next landing run sees each as a new upload (new ingest id).
    """
    rows = lake.catalog.find(status=INVALID)
    if keys is not None:
        wanted = set(keys)
        chosen = [r for r in rows if r.invalid_key in wanted or r.ingest_id in wanted]
        unknown = wanted - {r.invalid_key for r in chosen} - {r.ingest_id for r in chosen}
        if unknown:
            raise UsageError(
                f"not a rejected file: {', '.join(sorted(unknown))} "
                "(see `agrolake invalid` for the keys)"
            )
        rows = chosen
    restored = []
    for row in rows:
        target, invalid = row.landing_key, row.invalid_key
        assert invalid is not None, "a rejected file has its invalid key"
        # Free the landing identity first: the copy may carry the same ETag and second.
        lake.catalog.mark_replayed(row, replayed=True)
        try:
            lake.store.copy("landing", invalid, "landing", target, create_only=True)
        except ObjectExists as exc:
            lake.catalog.mark_replayed(row, replayed=False)
            raise UsageError(
                f"cannot replay {invalid}: a new file waits at {target} in landing; "
                "run `agrolake run` first"
            ) from exc
        lake.store.delete("landing", invalid)
        lake.store.delete("landing", invalid + REASON_SUFFIX)
        restored.append(target)
    return restored
