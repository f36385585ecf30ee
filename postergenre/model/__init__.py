"""The model as it serves: the backbone and its ONNX/PyTorch runtimes (``backbone``, ``runtime``,
``quantize`` + ``int8_calibration/``, ``torch_twin``), the genre head (``head``) and its weights format
(``weights``), prediction (``predictor``), calibration and the headline rule (``calibration``,
``decision``), the poster check (``poster_check``), the OCR text channel (``ocr``, ``text_model``),
Grad-CAM (``explain``) and background warm-up (``warmup``). Fitting lives in training/, measuring in
evaluation/.

May import the top level (errors, genres, settings) and sources/; never training/, evaluation/, look/,
compare/, catalog/, api/, commands/."""
