"""PIL references for the image preprocessing (model/preprocess.go).

torchvision's Resize + CenterCrop (PIL bilinear with antialiasing, 8-bit
results) of classic photos at a small size, saved as float32 C x H x W pixel
levels (0..255) into testdata/pil, for TestPreprocessMatchesPIL. Run with
Debian's Python (python3-torchvision):

    /usr/bin/python3 scripts/pil_refs.py ../shared/photos
"""
import os
import sys

import numpy as np
import torchvision.transforms as T
from PIL import Image

# name -> (transform, the sidecar resize mode it stands for)
RECIPES = {
    "short64crop56": T.Compose([T.Resize(64), T.CenterCrop(56)]),
    "stretch56": T.Resize((56, 56)),
}
PHOTOS = ("dog.jpg", "scream.jpg")


def main():
    photos = sys.argv[1] if len(sys.argv) > 1 else "../shared/photos"
    out = os.path.join(os.path.dirname(__file__), "..", "testdata", "pil")
    os.makedirs(out, exist_ok=True)
    for photo in PHOTOS:
        img = Image.open(os.path.join(photos, photo)).convert("RGB")
        for name, tf in RECIPES.items():
            x = np.asarray(tf(img), dtype=np.float32).transpose(2, 0, 1).copy()
            path = os.path.join(out, f"{os.path.splitext(photo)[0]}_{name}.npy")
            np.save(path, x)
            print(path, x.shape)


if __name__ == "__main__":
    main()
