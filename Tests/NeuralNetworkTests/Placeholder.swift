// Tests for NeuralNetwork land with its issue.
