"""How the lake is shown to people: the lake browser (``agrolake ui``, read-only web
pages over the answers) and the terminal's result grids (``agrolake query``,
``agrolake quality``). An entry-point layer: it reads the lake only through
``agrolake.answers`` and the library below, and never imports Prefect."""
