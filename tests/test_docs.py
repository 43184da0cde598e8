"""Generated tables in docs/ match the data they come from (config object, ISA table)."""

from genesys import docgen


def test_generated_doc_regions_are_current():
    assert docgen.stale() == [], "run: python -m genesys.docgen --write"
