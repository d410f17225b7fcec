// Decoding, preprocessing, augmentation and dataset sources: from image files to normalised N×C×H×W batches.
import Tensors
