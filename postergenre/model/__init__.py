"""The model: backbone and its ONNX/PyTorch runtimes, the genre head and its weights format, prediction,
calibration and the poster check, the OCR text channel, Grad-CAM, int8, training and evaluation.

May import the top level (errors, genres, settings) and sources/; never look/, compare/, catalog/, api/, commands/."""
