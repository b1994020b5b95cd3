"""``convalg draw``: one run per picture, the files it writes, and its errors (exit 2, no traceback)."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

from convalg.cli import main  # noqa: E402


@pytest.mark.parametrize("argv, frames", [
    (["sparsity", "--input", "3,3", "conv(k=3,p=1)", "--cin", "2", "--cout", "2"], None),
    (["arithmetic", "--input", "5,5", "conv(k=3,s=2,p=1)", "--position", "1,1"], None),
    (["arithmetic", "--input", "3", "convt(k=3,s=2,p=1,op=1)"], 6),
    (["rf", "--input", "16,16", "conv(k=3,p=1) maxpool(k=2) conv(k=3,p=1)", "--output", "3,3"], None),
    (["maxpool", "maxpool(k=2)", "--values", "1 4 2 2; 4 0 1 0"], None),
    (["maxpool", "maxpool(k=3,s=2,p=1)", "--input", "9"], None),
], ids=["sparsity", "arithmetic-png", "arithmetic-gif", "rf", "maxpool-values", "maxpool-random"])
def test_draw_writes_each_picture(capsys, tmp_path, argv, frames) -> None:
    out = tmp_path / ("p.gif" if frames else "p")
    assert main(["draw", *argv, "-o", str(out)]) == 0
    written = out if frames else tmp_path / "p.png"  # a name without suffix gets .png, and says so
    assert f"wrote {written}" in capsys.readouterr().err
    with Image.open(written) as im:
        assert im.format == ("GIF" if frames else "PNG")
        assert getattr(im, "n_frames", 1) == (frames or 1)


@pytest.mark.parametrize("argv, needle", [
    (["arithmetic", "--input", "5", "aap(o=2)"], "conv-arithmetic diagrams exist for"),
    (["arithmetic", "--input", "5,5,5", "conv(k=3)"], "1-D or 2-D"),
    (["arithmetic", "--input", "5", "conv(k=3)", "--position", "7"], "position=(7,)"),
    (["arithmetic", "--input", "5", "conv(k=3) conv(k=3)"], "takes one layer"),
    (["maxpool", "avgpool(k=2)"], "takes a maxpool"),
    (["maxpool", "maxpool(k=2)", "--values", "1 2; 3"], "equal length"),
    (["sparsity", "--input", "3", "conv(k=3)", "--cin", "0"], "--cin=0"),
    (["rf", "--input", "8", "convt(k=2,s=2)"], "Conv, MaxPool and AvgPool"),
])
def test_draw_errors(capsys, tmp_path, argv, needle) -> None:
    assert main(["draw", *argv, "-o", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
