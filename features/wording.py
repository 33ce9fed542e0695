"""How a feature's value is said to a sales rep: the sentence template each feature carries.

A :class:`Template` has up to four forms: ``many`` (with ``{n}``, the value
formatted for its ``kind``), ``one``, ``zero`` and ``missing`` (no
observation). A windowed feature writes ``{w}`` where its window goes and
fills it with :meth:`Template.within`, so ``_7d``, ``_30d`` and ``_90d``
variants share one wording. :mod:`mqa.predict.sentences` renders them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .contract import OTHER_ACTIVITY

KINDS: tuple[str, ...] = ("count", "days", "percent", "score", "ratio", "signed", "money", "flag", "category", "number")

ACTIVITY_WORDS: dict[str, tuple[str, str]] = {
    "web_visit": ("web visit", "web visits"),
    "pricing_page_visit": ("pricing-page visit", "pricing-page visits"),
    "content_download": ("content download", "content downloads"),
    "webinar_registered": ("webinar registration", "webinar registrations"),
    "webinar_attended": ("webinar attended", "webinars attended"),
    "email_open": ("email open", "email opens"),
    "email_click": ("email click", "email clicks"),
    "ad_click": ("ad click", "ad clicks"),
    "form_fill": ("form fill", "form fills"),
    "demo_request": ("demo request", "demo requests"),
    "event_attended": ("event attended", "events attended"),
    "trial_signup": ("trial sign-up", "trial sign-ups"),
    "product_usage": ("product-usage event", "product-usage events"),
    OTHER_ACTIVITY: ("other activity", "other activities"),
}
SIGNAL_WORDS: dict[str, tuple[str, str]] = {
    "executive_hire": ("new executive hire", "executive hires"),
    "funding_round": ("funding round", "funding rounds"),
    "hiring_surge": ("hiring surge", "hiring surges"),
    "technology_added": ("technology added", "technologies added"),
    "technology_removed": ("technology removed", "technologies removed"),
    "layoff": ("layoff", "layoffs"),
    "acquisition": ("acquisition", "acquisitions"),
    "product_limit_reached": ("product limit reached", "product limits reached"),
}
# Windows said the way a rep says them: 28 days are "4 weeks".
_WINDOW_PHRASES = {7: "the last 7 days", 28: "the last 4 weeks", 30: "the last 30 days", 84: "the last 12 weeks",
                   90: "the last 90 days"}


@dataclass(frozen=True)
class Template:
    """How to say one feature's value.

    Parameters
    ----------
    kind : str
        How ``{n}`` is formatted: count, days, percent, score, ratio, signed,
        money, flag, category or number (:data:`KINDS`).
    many : str
        The general form, with ``{n}`` (a flag's "yes" form has none).
    one, zero : str, optional
        The forms for a value that rounds to 1 or 0 (a flag's "no" is ``zero``).
    missing : str, optional
        The form for no observation (NaN); default "not known yet".
    """

    kind: str
    many: str
    one: str | None = None
    zero: str | None = None
    missing: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"template kind {self.kind!r} is none of {', '.join(KINDS)}")

    def within(self, days: int) -> "Template":
        """This template with ``{w}`` said as the window of ``days`` ("the last 4 weeks")."""
        phrase = window_phrase(days)
        fill = lambda form: None if form is None else form.replace("{w}", phrase)  # noqa: E731
        return replace(self, many=fill(self.many), one=fill(self.one), zero=fill(self.zero), missing=fill(self.missing))


def window_phrase(days: int) -> str:
    """A window of ``days`` in words: "the last 30 days", "the last 12 weeks"."""
    return _WINDOW_PHRASES.get(days, f"the last {days} days")
