"""The README's PostgreSQL section: its table DDL is the one the store runs."""

import re
from pathlib import Path

from stateview._postgres import _sql

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_the_readmes_table_ddl_is_what_the_store_creates():
    section = README.split("## When one machine is not enough", 1)[1]
    blocks = re.findall(r"```sql\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "one sql block in the section"
    assert blocks[0].strip() == _sql.DDL.strip()

