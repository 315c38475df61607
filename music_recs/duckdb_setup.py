"""Install DuckDB's httpfs extension from the pip wheel's file, so DuckDB never downloads.

Run once by `make venv`. After it, ``LOAD httpfs`` works offline in every DuckDB process of
this user (the extension is copied into DuckDB's extension directory).
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def httpfs_extension_file() -> Path:
    """Path of the httpfs extension binary shipped by ``duckdb-extension-httpfs``."""
    import duckdb_extension_httpfs

    root = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    files = sorted(root.rglob("httpfs.duckdb_extension"))
    version = f"v{duckdb.__version__}"
    matching = [f for f in files if version in f.parts]
    if not (matching or files):
        raise FileNotFoundError(f"no httpfs.duckdb_extension under {root}")
    return (matching or files)[0]


def install_httpfs() -> Path:
    path = httpfs_extension_file()
    con = duckdb.connect()
    con.execute(f"INSTALL '{path}'")
    con.execute("LOAD httpfs")
    con.close()
    return path


if __name__ == "__main__":
    print(f"httpfs installed from {install_httpfs()}")
