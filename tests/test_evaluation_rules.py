"""Threshold rules: parsing them and profile specs, and the threshold each picks on known rows."""

from __future__ import annotations

import re

import numpy as np
import pytest

from packager.errors import CaptureError
from packager.evaluation import FORMS, Rule, parse_profiles, parse_rule
from packager.evaluation.rules import choose_threshold

# Ten rows, scores 0.1 .. 1.0; positives at 0.3, 0.5, 0.7, 0.8, 0.9, 1.0 (6 of 10).
# Flagging score >= t gives (sensitivity, specificity): t=0.7 (4/6, 4/4), 0.6 (4/6, 3/4),
# 0.5 (5/6, 3/4), 0.4 (5/6, 2/4), 0.3 (6/6, 2/4); PPV at 0.5 is 5/6, at 0.3 6/8.
SCORES = np.round(np.arange(1, 11) / 10, 1)
POSITIVE = np.array([False, False, True, False, True, False, True, True, True, True])


@pytest.mark.parametrize(
    ("rule", "threshold"),
    [
        ("sensitivity>=0.8", 0.5),  # the highest threshold still catching 5 of 6
        ("sensitivity>=0.9", 0.3),
        ("sensitivity>=0.5", 0.8),
        ("specificity>=0.75", 0.5),  # the lowest threshold with at most 1 false alarm
        ("fpr<=0.25", 0.5),
        ("fpr<=0", 0.7),
        ("ppv>=0.8", 0.5),  # PPV 5/6; lower thresholds give 5/7, 6/8, ...
        ("ppv>=1", 0.7),
        ("alerts<=30", 0.8),  # at most 3 of 10 rows flagged
        ("alerts<=100", 0.1),
        ("youden", 0.7),  # 4/6 + 4/4 - 1 is the largest
        ("fixed:0.42", 0.42),
    ],
)
def test_each_rule_picks_the_known_threshold(rule: str, threshold: float) -> None:
    assert choose_threshold(parse_rule(rule), POSITIVE, SCORES) == pytest.approx(threshold)


def test_a_rule_the_rows_cannot_meet_is_an_error_naming_it() -> None:
    # The highest score is a negative row, so no candidate threshold has no false alarm.
    positive, scores = np.array([True, False]), np.array([0.2, 0.9])
    with pytest.raises(CaptureError, match=r"'specificity>=1' cannot be met on these rows"):
        choose_threshold(parse_rule("specificity>=1"), positive, scores)
    with pytest.raises(CaptureError, match=r"'ppv>=0.9' cannot be met"):
        choose_threshold(parse_rule("ppv>=0.9"), positive, scores)


def test_a_sensitivity_rule_on_rows_without_positives_says_so() -> None:
    with pytest.raises(
        CaptureError,
        match=r"^threshold rule 'sensitivity>=0\.9' needs rows of the positive class; these "
        "rows hold none$",
    ):
        choose_threshold(parse_rule("sensitivity>=0.9"), np.zeros(3, bool), np.arange(3.0))


ONLY_POSITIVE, ONLY_NEGATIVE = np.ones(4, bool), np.zeros(4, bool)
SCORES_4 = np.array([0.1, 0.4, 0.6, 0.9])


@pytest.mark.parametrize(
    ("rule", "positive", "message"),
    [
        ("sensitivity>=0.9", ONLY_NEGATIVE, "needs rows of the positive class; these rows hold"),
        ("specificity>=0.9", ONLY_POSITIVE, "needs rows of the other class; these rows hold"),
        ("fpr<=0.1", ONLY_POSITIVE, "needs rows of the other class; these rows hold none"),
        (
            "ppv>=0.5",
            ONLY_POSITIVE,
            "needs rows of both classes; these rows hold none of the oth",
        ),
        ("ppv>=0", ONLY_NEGATIVE, "needs rows of both classes; these rows hold none of the posit"),
        ("youden", ONLY_POSITIVE, "needs rows of both classes; these rows hold none of the oth"),
    ],
)
def test_a_rule_is_refused_on_rows_of_one_class_when_it_cannot_be_measured_there(
    rule: str, positive: np.ndarray, message: str
) -> None:
    # PPV on positives only is 1 at every threshold: a "threshold" would be the lowest score.
    with pytest.raises(CaptureError, match=f"'{re.escape(rule)}' {message}"):
        choose_threshold(parse_rule(rule), positive, SCORES_4)


@pytest.mark.parametrize(
    ("rule", "positive", "threshold"),
    [
        ("sensitivity>=0.5", ONLY_POSITIVE, 0.6),
        ("specificity>=0.75", ONLY_NEGATIVE, 0.9),
        ("alerts<=50", ONLY_NEGATIVE, 0.6),
        ("alerts<=50", ONLY_POSITIVE, 0.6),
    ],
)
def test_a_rule_measured_on_the_class_the_rows_hold_still_picks_its_threshold(
    rule: str, positive: np.ndarray, threshold: float
) -> None:
    assert choose_threshold(parse_rule(rule), positive, SCORES_4) == pytest.approx(threshold)


def test_a_rule_on_no_rows_says_there_are_none() -> None:
    with pytest.raises(CaptureError, match="'alerts<=10' needs labelled rows; there are none"):
        choose_threshold(parse_rule("alerts<=10"), np.zeros(0, bool), np.zeros(0))


def test_rules_ignore_spaces_and_case_and_are_recorded_in_one_form() -> None:
    assert parse_rule(" Sensitivity >= 0.90 ") == Rule("sensitivity", 0.9)
    assert parse_rule("sensitivity>=0.90").text == "sensitivity>=0.9"
    assert parse_rule("alerts<=12.5").text == "alerts<=12.5"
    assert parse_rule("fixed:0.3").text == "fixed:0.3"
    assert parse_rule("youden").text == "youden"


@pytest.mark.parametrize(
    "rule",
    [
        "sens>=0.9",
        "sensitivity<=0.9",
        "fpr>=0.1",
        "alerts>=10",
        "fixed>=0.3",
        "youden:1",
        "sensitivity",
        "",
    ],
)
def test_an_unknown_rule_is_an_error_naming_it_and_listing_the_forms(rule: str) -> None:
    with pytest.raises(CaptureError) as caught:
        parse_rule(rule)
    assert caught.value.message == f"threshold rule {rule!r} is not one of: {FORMS}"


@pytest.mark.parametrize(
    ("rule", "top"),
    [
        ("sensitivity>=1.5", "1"),
        ("ppv>=-0.1", "1"),
        ("fixed:2", "1"),
        ("alerts<=101", "100"),
        ("specificity>=nan", "1"),
        ("fpr<=abc", "1"),
    ],
)
def test_a_bound_out_of_range_is_an_error_naming_the_rule(rule: str, top: str) -> None:
    with pytest.raises(CaptureError, match=f"X must be a number from 0 to {top}$") as caught:
        parse_rule(rule)
    assert repr(rule) in caught.value.message


def test_profile_specs_split_at_the_first_colon() -> None:
    specs = parse_profiles(["default:sensitivity>=0.9", "site-b.v2:fixed:0.3", "x_1:youden"])
    assert [(s.name, s.rule.text) for s in specs] == [
        ("default", "sensitivity>=0.9"),
        ("site-b.v2", "fixed:0.3"),
        ("x_1", "youden"),
    ]


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["sensitivity>=0.9"], "is not NAME:RULE"),
        (["default:"], "is not NAME:RULE"),
        (["my site:youden"], "the name must be 1 to 64 letters, digits"),
        ([":youden"], "the name must be"),
        (["a:youden", "a:fixed:0.5"], "'a' is given twice; names must be unique"),
        (["a:sens>=0.9"], "threshold rule 'sens>=0.9' is not one of"),
    ],
)
def test_bad_profile_specs_are_errors_naming_them(specs: list[str], message: str) -> None:
    with pytest.raises(CaptureError, match=message):
        parse_profiles(specs)
