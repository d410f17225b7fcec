"""tritonclient's ordinary HTTP calls against a real `graft serve` on the default model (fmnist-resnet8).

Run by scripts/test-v2-client (which makes the venv with tritonclient[http] and kserve from PyPI); by hand:
    GRAFT=.build/release/graft var/v2-client-venv/bin/python Tests/V2Client/test_tritonclient.py
"""
import base64
import json
import os
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.request
import zlib

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = "fmnist-resnet8"


def grey_png(pixels):
    """An 8-bit greyscale PNG of `pixels` (rows of 0...255), written by hand: the venv has no imaging library."""
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def sample_pixels(seed):
    generator = np.random.default_rng(seed)
    return generator.integers(0, 256, size=(28, 28), dtype=np.uint8)


def softmax(rows):
    shifted = np.exp(rows - rows.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


class GraftServer:
    """`graft serve` on a free port with a fresh data folder, from the repository root (for Models/)."""

    def __enter__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.data = tempfile.TemporaryDirectory()
        self.log = open(os.path.join(self.data.name, "serve.log"), "w")
        graft = os.environ.get("GRAFT", os.path.join(ROOT, ".build", "release", "graft"))
        self.process = subprocess.Popen([graft, "serve", "--port", str(self.port), "--data", self.data.name + "/var"],
                                        cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            if self.process.poll() is not None:
                raise RuntimeError("graft serve exited with %d; see %s" % (self.process.returncode, self.log.name))
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/v2/health/ready" % self.port, timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("graft serve did not become ready")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()
        self.data.cleanup()


class TritonClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = GraftServer().__enter__()
        cls.url = "127.0.0.1:%d" % cls.server.port
        cls.client = httpclient.InferenceServerClient(url=cls.url)
        with open(os.path.join(ROOT, "Models", MODEL, "model.json")) as file:
            manifest = json.load(file)
        cls.labels = manifest["labels"]
        cls.mean, cls.std = manifest["input"]["mean"][0], manifest["input"]["std"][0]

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        cls.server.__exit__(None, None, None)

    def predict(self, png):
        """POST /predict's top-5 for one image: what V2 must agree with."""
        request = urllib.request.Request("http://%s/predict?model=%s&top_k=5" % (self.url, MODEL), data=png,
                                         headers={"Content-Type": "image/png"}, method="POST")
        with urllib.request.urlopen(request) as answer:
            return json.load(answer)["predictions"][0]["labels"]

    def test_health_and_metadata(self):
        self.assertTrue(self.client.is_server_live())
        self.assertTrue(self.client.is_server_ready())
        self.assertTrue(self.client.is_model_ready(MODEL))
        self.assertTrue(self.client.is_model_ready(MODEL, model_version="1"))
        self.assertFalse(self.client.is_model_ready("no-such-model"))
        server = self.client.get_server_metadata()
        self.assertEqual(server["name"], "graft")
        self.assertIn("binary_tensor_data", server["extensions"])
        metadata = self.client.get_model_metadata(MODEL)
        self.assertEqual(metadata["name"], MODEL)
        inputs = {item["name"]: item for item in metadata["inputs"]}
        self.assertEqual(inputs["input"]["shape"], [-1, 1, 28, 28])
        self.assertEqual(inputs["input"]["datatype"], "FP32")
        self.assertEqual(inputs["image"]["datatype"], "BYTES")
        self.assertEqual([item["shape"] for item in metadata["outputs"]], [[-1, 5], [-1, 5]])

    def infer_images(self, pngs, binary, outputs=None, **options):
        image = httpclient.InferInput("image", [len(pngs)], "BYTES")
        # In JSON, BYTES elements are text: Graft reads them as base64 (raw image bytes are not UTF-8).
        elements = pngs if binary else [base64.b64encode(png) for png in pngs]
        image.set_data_from_numpy(np.array(elements, dtype=np.object_), binary_data=binary)
        return self.client.infer(MODEL, [image], outputs=outputs, **options)

    def test_encoded_images_agree_with_predict_binary_and_json(self):
        pngs = [grey_png(sample_pixels(seed).tolist()) for seed in range(3)]
        for binary in (True, False):
            requested = [httpclient.InferRequestedOutput(name, binary_data=binary)
                         for name in ("logits", "probabilities")]
            result = self.infer_images(pngs, binary, outputs=requested, request_id="req-%s" % binary)
            self.assertEqual(result.get_response()["id"], "req-%s" % binary)
            logits, probabilities = result.as_numpy("logits"), result.as_numpy("probabilities")
            self.assertEqual(logits.shape, (3, 5))
            self.assertEqual(logits.dtype, np.float32)
            np.testing.assert_allclose(probabilities, softmax(logits.astype(np.float64)), atol=1e-6)
            for index, png in enumerate(pngs):
                expected = self.predict(png)
                order = np.argsort(-probabilities[index], kind="stable")
                self.assertEqual([self.labels[i] for i in order], [item["label"] for item in expected])
                np.testing.assert_allclose(probabilities[index][order], [item["probability"] for item in expected],
                                           atol=1e-6)

    def test_default_outputs_are_binary(self):
        # With no outputs named, tritonclient asks for every output in binary form (binary_data_output).
        result = self.infer_images([grey_png(sample_pixels(7).tolist())], binary=True)
        response = result.get_response()
        self.assertEqual(sorted(item["name"] for item in response["outputs"]), ["logits", "probabilities"])
        self.assertTrue(all("binary_data_size" in item["parameters"] for item in response["outputs"]))
        self.assertEqual(result.as_numpy("logits").shape, (1, 5))

    def test_preprocessed_fp32_equals_the_encoded_path(self):
        pixels = [sample_pixels(seed) for seed in (11, 12)]
        pngs = [grey_png(p.tolist()) for p in pixels]
        from_images = self.infer_images(pngs, binary=True).as_numpy("logits")
        # The model's own preprocessing for a 28×28 grey image: no resize, (x/255 − mean)/std.
        batch = np.stack([((p.astype(np.float32) / 255 - self.mean) / self.std)[None] for p in pixels])
        for binary in (True, False):
            tensor = httpclient.InferInput("input", list(batch.shape), "FP32")
            tensor.set_data_from_numpy(batch.astype(np.float32), binary_data=binary)
            outputs = [httpclient.InferRequestedOutput("logits", binary_data=binary)]
            logits = self.client.infer(MODEL, [tensor], outputs=outputs).as_numpy("logits")
            np.testing.assert_allclose(logits, from_images, rtol=1e-4, atol=1e-4)

    def test_classification_output(self):
        png = grey_png(sample_pixels(21).tolist())
        expected = self.predict(png)[:3]
        for binary in (True, False):
            outputs = [httpclient.InferRequestedOutput("probabilities", binary_data=binary, class_count=3)]
            result = self.infer_images([png], binary, outputs=outputs)
            rows = result.as_numpy("probabilities")
            self.assertEqual(rows.shape, (1, 3))
            entries = [(item.decode() if isinstance(item, bytes) else item).split(":", 2) for item in rows[0]]
            self.assertEqual([label for _, _, label in entries], [item["label"] for item in expected])
            self.assertEqual([self.labels[int(index)] for _, index, _ in entries], [item["label"] for item in expected])
            np.testing.assert_allclose([float(score) for score, _, _ in entries],
                                       [item["probability"] for item in expected], atol=1e-6)

    def test_mismatches_are_named(self):
        cases = [
            (httpclient.InferInput("input", [1, 3, 28, 28], "FP32"), np.zeros((1, 3, 28, 28), np.float32), "shape"),
            (httpclient.InferInput("input", [1, 1, 28, 28], "INT32"), np.zeros((1, 1, 28, 28), np.int32), "FP32"),
            (httpclient.InferInput("pixels", [1, 1, 28, 28], "FP32"), np.zeros((1, 1, 28, 28), np.float32),
             "no input 'pixels'"),
        ]
        for tensor, values, phrase in cases:
            tensor.set_data_from_numpy(values)
            with self.assertRaises(InferenceServerException) as raised:
                self.client.infer(MODEL, [tensor])
            self.assertIn("400", str(raised.exception.status()))
            self.assertIn(phrase, raised.exception.message())
        tensor = httpclient.InferInput("input", [1, 1, 28, 28], "FP32")
        tensor.set_data_from_numpy(np.zeros((1, 1, 28, 28), np.float32))
        with self.assertRaises(InferenceServerException) as raised:
            self.client.infer(MODEL, [tensor], outputs=[httpclient.InferRequestedOutput("scores")])
        self.assertIn("no output 'scores'", raised.exception.message())
        with self.assertRaises(InferenceServerException) as raised:
            self.client.infer("no-such-model", [tensor])
        self.assertIn("404", str(raised.exception.status()))
        self.assertIn("no-such-model", raised.exception.message())
        with self.assertRaises(InferenceServerException) as raised:
            self.infer_images([b"not an image"], binary=True)
        self.assertIn("image 0", raised.exception.message())


if __name__ == "__main__":
    unittest.main(verbosity=2)
