"""Writes the PyTorch checkpoint fixtures read by PyTorchCheckpointTests.

Run with Debian's python3-torch (installed by `scripts/setup --bench`), from this folder:

    /usr/bin/python3 make_torch_checkpoints.py

It saves one small state dict (conv, batch norm with its int64 `num_batches_tracked`, linear, a
non-contiguous transposed view and a view with a storage offset, a float16 and a float64 tensor) as
  - torch_state_legacy.pth  (legacy pre-zip serialization, `_use_new_zipfile_serialization=False`)
  - torch_state_zip.pth     (the current zip serialization, torch's default)
  - torch_state_expected.safetensors (the same tensors, contiguous F32, written by hand below)
"""
import collections
import json
import struct

import torch

torch.manual_seed(11)


def write_safetensors(path, tensors):
    """The safetensors layout by hand: header length, JSON header, F32 little-endian data."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        data = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


conv = torch.nn.Conv2d(3, 4, 3, bias=False)
bn = torch.nn.BatchNorm2d(4)
bn.train()
bn(conv(torch.randn(2, 3, 6, 6)))  # moves the running statistics and num_batches_tracked off their defaults
bn(conv(torch.randn(2, 3, 6, 6)))
fc = torch.nn.Linear(4, 5)

base = torch.randn(6, 7)
state = collections.OrderedDict()
state["stem.conv.weight"] = conv.weight.detach()
state["stem.bn.weight"] = bn.weight.detach()
state["stem.bn.bias"] = bn.bias.detach()
state["stem.bn.running_mean"] = bn.running_mean
state["stem.bn.running_var"] = bn.running_var
state["stem.bn.num_batches_tracked"] = bn.num_batches_tracked  # int64, value 2
state["fc.weight"] = fc.weight.detach()
state["fc.bias"] = fc.bias.detach()
state["view.transposed"] = base.t()  # 7x6, strides (1, 7): non-contiguous
state["view.offset"] = base[2:5, 1:6]  # 3x5 view, storage offset 15, strides (7, 1)
state["half"] = torch.randn(2, 3).to(torch.float16)
state["double"] = torch.randn(4).to(torch.float64)
state["scalar"] = torch.tensor(3.5)  # zero-dimensional
assert not state["view.transposed"].is_contiguous()
assert state["view.offset"].storage_offset() == 15

torch.save(state, "torch_state_legacy.pth", _use_new_zipfile_serialization=False)
torch.save(state, "torch_state_zip.pth")
write_safetensors("torch_state_expected.safetensors", state)

# Round trip through torch itself, so the files are known to be what torch reads back.
for name in ("torch_state_legacy.pth", "torch_state_zip.pth"):
    loaded = torch.load(name)
    assert list(loaded) == list(state)
    for key in state:
        assert torch.equal(loaded[key], state[key]), key
print("wrote torch_state_legacy.pth, torch_state_zip.pth, torch_state_expected.safetensors")
