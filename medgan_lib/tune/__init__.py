"""Hyperparameter studies (skandarani2023 §3.1/§4.1, chetty2023, belmekki) on Ray Tune."""
