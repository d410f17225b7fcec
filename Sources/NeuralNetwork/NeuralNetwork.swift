// Layers, model graphs and compiled plans, losses, optimizers and model files, built on Tensors.
@_exported import Tensors
