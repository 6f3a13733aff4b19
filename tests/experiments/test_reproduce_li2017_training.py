"""scripts/reproduce_li2017_training.py end to end at --quick sizes (Figure 3 only: about a second)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "reproduce_li2017_training.py"


def test_quick_figure3_writes_data_figure_and_only_its_part_of_the_page(tmp_path):
    page = tmp_path / "reproductions.md"
    page.write_text("# Reproductions\n\n<!-- li2017:begin -->\nFigures 5, 9, 10\n<!-- li2017:end -->\n\nafter\n")
    for _ in range(2):  # a second run rewrites its own part, nothing else
        r = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--only", "fig3", "--jobs", "1", "--docs",
                            str(tmp_path)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
    text = page.read_text()
    assert text.count("<!-- li2017-training:begin -->") == 1 and text.index("li2017:end") < text.index("training:begin")
    assert "Figures 5, 9, 10" in text and text.rstrip().endswith("after")
    assert "| paper's claim (quoted) | ours | command, seed |" in text
    data = json.loads((tmp_path / "data" / "li2017-fig3.json").read_text())
    assert [panel["act_mid"] for panel in data["panels"]] == ["identity", "relu"]
    assert (tmp_path / "figures" / "li2017-fig3.png").stat().st_size > 1000
