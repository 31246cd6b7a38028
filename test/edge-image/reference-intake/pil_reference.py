"""Writes expected.json: the 448x448 RGB bytes that 01.AI's reference intake makes of each image here, as sha256.

The reference (Yi-VL's single_inference.py) opens the file with PIL, pads it to a square with the CLIP mean colour
(expand2square), and CLIPImageProcessor converts to RGB and resizes with PIL's BICUBIC. Run with any Python that has
Pillow (the checked-in expected.json was written with Pillow 9.4.0):  python3 pil_reference.py
"""
import hashlib, json, os
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN = (122, 116, 104)  # int(x * 255) of CLIP's mean (0.48145466, 0.4578275, 0.40821073)


def expand2square(img, background):
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    out = Image.new(img.mode, (side, side), background)
    out.paste(img, (0, (w - h) // 2) if w > h else ((h - w) // 2, 0))
    return out


expected = {}
for name in sorted(os.listdir(HERE)):
    if not name.endswith((".png", ".jpg")):
        continue
    img = expand2square(Image.open(os.path.join(HERE, name)), MEAN).convert("RGB")
    img = img.resize((448, 448), resample=Image.BICUBIC)
    expected[name] = hashlib.sha256(img.tobytes()).hexdigest()
with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump({"pillow": Image.__version__, "sha256_of_448x448_rgb": expected}, f, indent=2)
    f.write("\n")
