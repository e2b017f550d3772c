"""The model card: one set of facts from the manifest, rendered as Markdown and as HTML.

``sections`` (with ``performance``, ``subgroups``, ``checks``, ``inputs`` and ``training``)
computes the card's facts once as plain blocks (``blocks``); ``markdown`` renders them as
MODEL_CARD.md, ``page`` as one self-contained HTML page (``deployml card``, the server's
``GET /``), and ``embedded`` reads the plots and edge cases the page embeds, checked against
their hashes.
``shapes`` reads the manifest's free-form fields: a part the card cannot read says so.
"""

from packager.artefact.card.embedded import card_files
from packager.artefact.card.markdown import model_card
from packager.artefact.card.page import card_page

__all__ = ["card_files", "card_page", "model_card"]
