"""KServe's V2 REST client (kserve.InferenceRESTClient, no cluster needed) against a real `graft serve`.

Run by scripts/test-v2-client beside test_tritonclient.py, whose server harness and image helpers it shares.
"""
import asyncio
import base64
import unittest

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput

from test_tritonclient import MODEL, GraftServer, grey_png, sample_pixels, softmax


class KServeClientTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = GraftServer().__enter__()
        cls.base = "http://127.0.0.1:%d" % cls.server.port

    @classmethod
    def tearDownClass(cls):
        cls.server.__exit__(None, None, None)

    def run_client(self, body):
        async def session():
            client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=60))
            try:
                return await body(client)
            finally:
                await client.close()
        return asyncio.run(session())

    def test_readiness(self):
        async def body(client):
            return (await client.is_server_live(self.base), await client.is_server_ready(self.base),
                    await client.is_model_ready(self.base, MODEL), await client.is_model_ready(self.base, "missing"))
        self.assertEqual(self.run_client(body), (True, True, True, False))

    def test_infer_binary_and_json_agree(self):
        pixels = [sample_pixels(seed) for seed in (31, 32)]
        pngs = [grey_png(p.tolist()) for p in pixels]
        batch = np.stack([((p.astype(np.float32) / 255 - 0.286) / 0.353)[None] for p in pixels]).astype(np.float32)

        async def body(client):
            answers = []
            for binary in (True, False):
                tensor = InferInput("input", list(batch.shape), "FP32")
                tensor.set_data_from_numpy(batch, binary_data=binary)
                outputs = [RequestedOutput("logits", {"binary_data": binary}),
                           RequestedOutput("probabilities", {"binary_data": binary})]
                request = InferRequest(MODEL, [tensor], request_id="kserve-%s" % binary, request_outputs=outputs)
                answers.append(await client.infer(self.base, request, model_name=MODEL))
            image = InferInput("image", [2], "BYTES")
            image.set_data_from_numpy(np.array(pngs, dtype=np.object_), binary_data=True)
            answers.append(await client.infer(self.base, InferRequest(MODEL, [image]), model_name=MODEL))
            text = InferInput("image", [2], "BYTES", data=[base64.b64encode(png).decode() for png in pngs])
            answers.append(await client.infer(self.base, InferRequest(MODEL, [text]), model_name=MODEL))
            return answers

        answers = self.run_client(body)
        self.assertEqual([answer.id for answer in answers[:2]], ["kserve-True", "kserve-False"])
        logits = [{output.name: output.as_numpy() for output in answer.outputs}["logits"] for answer in answers]
        for other in logits[1:]:
            np.testing.assert_allclose(other.reshape(2, 5), logits[0].reshape(2, 5), rtol=1e-4, atol=1e-4)
        probabilities = {output.name: output.as_numpy() for output in answers[0].outputs}["probabilities"]
        np.testing.assert_allclose(probabilities.reshape(2, 5), softmax(logits[0].reshape(2, 5).astype(np.float64)),
                                   atol=1e-6)


if __name__ == "__main__":
    unittest.main(verbosity=2)
