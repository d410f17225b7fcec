// One fine-tuning run: freeze plan, head swap, feature cache, training loop, evaluation and checkpoints.
import ImageData
import NeuralNetwork
