"""Evaluation: the loop that runs a model on a benchmark under schedules (``loop``), the suite's case runner
(``runner``) and baseline modes (``check``), and the information study runner (``study``)."""
