"""ASCII spellings of the symbols the output uses (π, η, φ, λ, ‖, …), for a stream that cannot encode them
(`LC_ALL=C` with a non-UTF-8 encoding, `PYTHONIOENCODING=ascii`): the one table, used by the stream's error
handler at the edge (resnet_cli/edge.py) and, before a table is laid out, by the consoles of
resnet_cli/report.py (so columns are measured on the text that is printed). No CLI library is imported here.
"""

from __future__ import annotations

import unicodedata

#: ASCII spellings of the symbols the tables use, for a stream that cannot encode them (LC_ALL=C).
ASCII = {
    "π": "pi", "η": "eta", "φ": "phi", "ϕ": "phi", "θ": "theta", "λ": "lambda", "σ": "sigma", "ρ": "rho",
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "eps", "μ": "mu", "κ": "kappa", "τ": "tau",
    "ω": "omega", "ξ": "xi", "Δ": "Delta", "Σ": "Sigma", "Λ": "Lambda", "Φ": "Phi",
    "‖": "||", "×": "x", "−": "-", "–": "-", "—": "--", "…": "...", "≤": "<=", "≥": ">=", "≈": "~",
    "≠": "!=", "±": "+/-", "·": "*", "→": "->", "←": "<-", "⇒": "=>", "∞": "inf", "√": "sqrt", "∇": "grad",
    "∑": "sum", "∈": " in ", "⊤": "^T", "ᵀ": "^T", "²": "^2", "³": "^3", "⁻": "^-", "¹": "1", "°": " deg",
    "✓": "ok", "✗": "x", "•": "*", "│": "|", "─": "-", "━": "-", "█": "#", "▏": "|", "⋯": "...",
    "“": '"', "”": '"', "‘": "'", "’": "'", "∗": "*", "★": "*",
}


def ascii_of(ch: str) -> str:
    """The ASCII spelling of one character (itself when ASCII)."""
    if ch.isascii():
        return ch
    if ch in ASCII:
        return ASCII[ch]
    digits = unicodedata.digit(ch, None)
    if digits is not None:  # subscript/superscript digits
        return str(digits)
    return unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode("ascii") or "?"


def ascii_spelling(text: str) -> str:
    """`text` with every character spelled in ASCII."""
    return text if text.isascii() else "".join(ascii_of(ch) for ch in text)
