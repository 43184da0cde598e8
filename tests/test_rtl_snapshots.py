"""rtl/ holds exactly what the templates render for every built-in preset (no hand edits, no drift)."""

from genesys.render import stale_snapshots


def test_rtl_snapshots_match_a_fresh_render():
    assert stale_snapshots() == [], "run: genesys render --snapshot"


def test_stale_snapshot_is_detected(tmp_path):
    from genesys.render import write_snapshots

    write_snapshots(tmp_path)
    assert stale_snapshots(tmp_path) == []
    victim = next((tmp_path / "4x4").glob("genesys_pe.sv"))
    victim.write_text(victim.read_text().replace("+", "-", 1))
    (tmp_path / "4x4" / "extra.sv").write_text("// stray\n")
    assert stale_snapshots(tmp_path) == ["rtl/4x4/genesys_pe.sv", "rtl/4x4/extra.sv (not rendered any more)"]
