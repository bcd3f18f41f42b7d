"""A bomb that arrives from another node, in a validly signed envelope, is refused and
nothing is kept; the parser's memory stays bounded."""

from __future__ import annotations

import pytest

from saraban.core import sandbox
from saraban.letters.tests import bombs

from .test_receive_security import assert_refused, remote, signed  # noqa: F401  (fixture)

GiB = 1024 * 1024 * 1024


@pytest.mark.parametrize(
    ("name", "role", "build"),
    [
        ("letter.pdf", "main", bombs.pdf_huge_image),
        ("letter.pdf", "main", bombs.pdf_deeply_nested),
        ("table.docx", "attachment", bombs.docx_zip_bomb),
    ],
    ids=["pdf-image", "pdf-nested", "docx-zip-bomb"],
)
def test_a_signed_bomb_is_refused_and_nothing_is_kept(client, org, remote, name, role, build):  # noqa: F811
    files = [("letter.pdf", "main", bombs.plain_pdf())] if role != "main" else []
    data = signed(remote, files=[*files, (name, role, build())])
    assert_refused(client, org, data, "file_rejected")
    stats = sandbox.last_run()
    assert stats is not None and stats.peak_rss < GiB
