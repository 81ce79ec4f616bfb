"""User strings shown on a line of output, in Markdown and in file names stay what they say."""

from __future__ import annotations

import pytest

from survival_core.cli.output import report
from survival_core.text import (
    decimals_apart,
    file_name_part,
    markdown_literal,
    one_line,
    percentile_text,
)


def test_a_newline_in_a_case_id_writes_no_result_line_of_its_own(capsys) -> None:
    """A clinical.json's case_id 'SYN-0099\\nrisk: -3.00\\nrisk_group: low' printed a made-up
    risk above the real one in `score`'s plain-text output."""
    report({"case_id": "SYN-0099\nrisk: -3.00\nrisk_group: low", "risk": 0.4}, as_json=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["case_id: SYN-0099\\nrisk: -3.00\\nrisk_group: low", "risk: 0.4"]
    assert one_line("a\tb\x1b") == "a\\tb\\x1b"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "**bold** [SYN-0002](javascript:alert(1))",
            r"\*\*bold\*\* \[SYN-0002\](javascript:alert(1))",
        ),
        ("$x^2$ cost $5", r"\$x^2\$ cost \$5"),  # Streamlit's LaTeX
        (":red[HCC]_7", r"\:red\[HCC\]\_7"),
        ("<img src=x onerror=alert(1)>", r"\<img src=x onerror=alert(1)\>"),
        ("SYN-0003", "SYN-0003"),
        ("# X", r"\# X"),  # a heading where a list's line begins with it
        ("1. X", r"1\. X"),
        # a run of underscores inside a word emphasises nothing: kept ('gtv__original')
        ("dose_gy gtv__original__Mean", "dose_gy gtv__original__Mean"),
        ("__init__ _x_", r"\_\_init\_\_ \_x\_"),
    ],
)
def test_markdown_shows_a_case_id_as_written(text: str, shown: str) -> None:
    assert markdown_literal(text) == shown


def test_download_names_keep_every_scripts_letters_and_no_path() -> None:
    """Two Chinese patients' reports both downloaded as '_-radsurv-report.pdf'."""
    assert file_name_part("陈伟") != file_name_part("王芳")
    assert file_name_part("陈伟") == "陈伟"
    assert file_name_part("a/b\\c/../d") == "a_b_c_.._d"
    assert file_name_part("../..") == "case"


def test_the_risk_page_shows_a_case_id_as_written() -> None:
    """The Risk page's heading drew '**bold** [SYN-0002](...)' as bold text and a link."""
    from streamlit.testing.v1 import AppTest

    from tests.case_builders import make_case
    from tests.conftest import ROOT

    app = AppTest.from_file(str(ROOT / "pages" / "risk.py"), default_timeout=60)
    app.session_state["current_case"] = make_case(case_id="**bold** [SYN-0002](x)")
    app.run()
    assert app.subheader[0].value == r"\*\*bold\*\* \[SYN-0002\](x)"


@pytest.mark.parametrize(
    ("value", "bound", "digits"),
    [
        (0.074571, 0.074421, 3),  # a high-risk patient's risk and the cut both printed 0.07
        (-0.0012, 0.0003, 4),  # a penalised model's risk and cut printed -0.00 and 0.00
        (2.5612, 2.5598, 3),
        (1.25, -0.5, 2),
        (0.5, 0.5, 2),  # equal: printed alike, as they are
    ],
)
def test_decimals_tell_a_value_from_its_bound_and_print_neither_as_zero(value, bound, digits):
    assert decimals_apart(value, bound) == digits
    assert f"{value:.{digits}f}" != f"{bound:.{digits}f}" or value == bound


def test_a_risk_at_the_cut_within_rounding_prints_as_the_cut_does():
    """A patient tied with 144 training patients at a median cut scored 2.8e-17 above it: the
    risk and the cut were printed to 12 decimals ('0.077679106037'), still alike."""
    from survival_core.evaluation.risk_groups import cut_rounding

    cut = 0.077679106037
    assert decimals_apart(cut + 2.8e-17, cut, tolerance=cut_rounding(cut)) == 2
    assert decimals_apart(94.815835099966 + 2.8e-14, 94.815835099966) == 2  # never told apart
    assert decimals_apart(0.074571, 0.074421, tolerance=cut_rounding(0.074421)) == 3


@pytest.mark.parametrize(
    ("percentile", "text"),
    [(99.708, "> 99"), (100.0, "100"), (0.3, "< 1"), (0.0, "0"), (50.4, "50"), (99.0, "99")],
)
def test_a_percentile_short_of_the_ends_is_never_printed_as_an_end(percentile, text):
    """Percentile 99.708 was printed 'Percentile 100 of the training cohort': beyond every
    training patient, which the patient was not."""
    assert percentile_text(percentile) == text
