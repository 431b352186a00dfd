"""A visual Turing test for teaching (skandarani2023 §4.3): readers label a shuffled 50/50 mix of real and
synthetic images in the browser (``quiz.html``) or on paper; accuracy near 50 % means the images fool them.
``kit`` builds the quiz, ``page`` its HTML, ``scoring`` the readers' and the class's results, ``serve`` a live
classroom server, ``plots`` the figures."""

from medgan_lib.turing.kit import Kit, TuringTest, build_turing_test, load_turing_sets, quiz_figure, quiz_size, save_kit
from medgan_lib.turing.scoring import (PAPER_EXPERTS, ClassResult, Sheet, TuringScore, class_result, machine_observer,
                                       read_answers, read_sheets, score, score_class, score_readers, score_sheet, score_table,
                                       summary_lines, turing_notes)

__all__ = ["Kit", "TuringTest", "build_turing_test", "load_turing_sets", "quiz_figure", "quiz_size", "save_kit",
           "PAPER_EXPERTS", "ClassResult", "Sheet", "TuringScore", "class_result", "machine_observer", "read_answers",
           "read_sheets", "score", "score_class", "score_readers", "score_sheet", "score_table",
           "summary_lines", "turing_notes"]
