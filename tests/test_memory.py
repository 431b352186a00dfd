"""Memory accounting (belmekki §III.E): known parameter counts, known activation sizes, saved tensors,
the profiler-measured CPU peak, and estimate vs measurement of a real GAN iteration."""

import os

import pandas as pd
import pytest
import torch
from torch import nn

from medgan_lib.gans.base import DataShape
from medgan_lib.memory import (MB, analyse_gan, belmekki_reference, bn_savings, compare_with_belmekki,
                               feature_map_sweep, leaf_output_summary, max_batch, memory_config, parameter_memory,
                               peak_memory_delta, saved_tensor_memory, summary_mb_per_image)
from medgan_lib.results import read_results

CPU = torch.device("cpu")


def test_parameter_memory_matches_hand_count():
    linear = nn.Linear(8, 2)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), linear, linear)  # shared layer counted once
    linear.bias.requires_grad_(False)
    mem = parameter_memory(net)
    assert mem.parameters == (3 * 8 * 9 + 8) + 2 * 8 + (8 * 2 + 2)  # 258
    assert mem.trainable == 258 - 2
    assert mem.parameter_bytes == 258 * 4
    assert mem.buffer_bytes == 2 * 8 * 4 + 8  # running mean/var (float32) + num_batches_tracked (int64)


def test_leaf_outputs_known_sizes_first_call_only_identity_skipped():
    net = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Identity(), nn.Flatten(), nn.Linear(256, 10))
    x = torch.randn(3, 1, 8, 8)
    layers = leaf_output_summary({"net": net}, lambda: (net(x), net(x)), batch=3)
    assert list(layers.type) == ["Conv2d", "ReLU", "Flatten", "Linear"]
    assert list(layers.elements_per_image) == [256, 256, 256, 10]
    assert layers.output_shape.iloc[0] == (4, 8, 8)
    assert summary_mb_per_image(layers) == {"net": pytest.approx(2 * 778 * 4 / MB)}


def test_saved_tensors_deduplicated_and_parameters_excluded():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    x = torch.randn(4, 5)
    # autograd keeps x (for W1's gradient) and the ReLU output (ReLU's own backward and W2's gradient: one
    # storage saved twice); the weights are parameters.
    out, saved = saved_tensor_memory(lambda: net(x).sum(), exclude=list(net.parameters()))
    assert saved.bytes == (4 * 5 + 4 * 7) * 4
    assert saved.storages == 2 and saved.packed > saved.storages
    # without the exclusion only W2 joins: W1 would serve a gradient for x, which needs none
    out, with_params = saved_tensor_memory(lambda: net(x).sum())
    assert with_params.bytes == saved.bytes + 7 * 3 * 4


def test_cpu_peak_from_profiler_events():
    def two_live_tensors():
        a = torch.ones(1_000_000)
        b = torch.ones(1_000_000)
        return float(a[0] + b[0])

    assert 8_000_000 <= peak_memory_delta(two_live_tensors, CPU) < 8_000_000 + 65_536
    assert 4_000_000 <= peak_memory_delta(lambda: torch.ones(1_000_000).sum(), CPU) < 4_000_000 + 65_536


def test_cpu_peak_keeps_native_stderr_but_not_the_profilers_chatter(capfd):
    def noisy():
        os.write(2, b"USDT:2026-11-22 08:04:41 1:1 SyncActivityProfilerHandler.cpp:39] profiler_start\n"
                    b"a native warning from the measured work\n")
        return torch.ones(1000).sum()

    peak_memory_delta(noisy, CPU)
    err = capfd.readouterr().err
    assert "a native warning from the measured work" in err
    assert "profiler_start" not in err and "USDT" not in err and "gpuGetDeviceCount" not in err


def test_table2_counts_and_estimate_within_tolerance_of_cpu_measurement():
    # Table II's networks with Adam (belmekki_table2 itself trains with AdaS, whose state the count below is not)
    config = memory_config("belmekki_adam_elu", resolution=64, filters=8, batchnorm=True, batch_size=8, base="smoke")
    shape = DataShape(image_channels=1, num_classes=1, resolution=64)
    row = analyse_gan(config, shape, device="cpu", measure=True)
    # belmekki Table II at 64x64, 8 feature maps: G convT 100->64->32->16->8->1 with ELU/Tanh, biases (no norm);
    # D conv 1->8 (bias), 8->16->32->64 (no bias, BN), head 64->1 (bias).
    assert row["params_g"] == 100 * 64 * 16 + 64 + 64 * 32 * 16 + 32 + 32 * 16 * 16 + 16 + 16 * 8 * 16 + 8 + 8 * 16 + 1
    assert row["params_d"] == 16 * 8 + 8 + 8 * 16 * 16 + 16 * 32 * 16 + 32 * 64 * 16 + 2 * (16 + 32 + 64) + 64 * 16 + 1
    g_elements = 2 * (64 * 4 * 4 + 32 * 8 * 8 + 16 * 16 * 16 + 8 * 32 * 32 + 1 * 64 * 64)  # each layer + activation
    d_elements = 2 * 8 * 32 * 32 + 3 * (16 * 16 * 16 + 32 * 8 * 8 + 64 * 4 * 4) + 1
    assert row["summary_g_mb_per_image"] == pytest.approx(2 * 4 * g_elements / MB)
    assert row["summary_d_mb_per_image"] == pytest.approx(2 * 4 * d_elements / MB)
    # resident after an Adam iteration: parameters, their gradients and two moments, BN buffers (running
    # mean/var, int64 counters) and Adam's 4-byte step counters (23 parameter tensors)
    param_bytes = 4 * (row["params_g"] + row["params_d"])
    buffers = 4 * 2 * (16 + 32 + 64) + 3 * 8
    assert row["static_mb"] * MB == pytest.approx(4 * param_bytes + buffers + 23 * 4, abs=16)
    # stated tolerance: the measured CPU peak of one iteration is within -20 %/+25 % of our estimate
    assert 0.8 <= row["measured_over_estimate"] <= 1.25
    again = analyse_gan(config, shape, device="cpu", measure=False)
    assert {k: again[k] for k in again} == {k: row[k] for k in again}  # deterministic estimate


def test_sweep_records_results_and_bn_removal_saves(tmp_path):
    sweep = feature_map_sweep(["dcgan"], [32], [8], batch_size=4, device="cpu", measure=False, base="smoke",
                              dataset="cardiac_phantom", study_dir=str(tmp_path), progress=False)
    assert list(sweep.batchnorm) == [True, False]
    assert len(read_results(str(tmp_path), "memory")) == 2
    savings = bn_savings(sweep)
    assert len(savings) == 1
    assert 0 < savings.summary_mb_per_image_saving_pct.iloc[0] < 100
    assert savings.saved_mb_per_image_saving_pct.iloc[0] > 0


def test_sweep_keeps_out_of_memory_configurations_as_rows(monkeypatch):
    from medgan_lib.memory import gan_memory

    def too_big(config, *args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(gan_memory, "analyse_gan", too_big)
    sweep = feature_map_sweep(["dcgan"], [32], [8], batchnorm=[True], base="smoke", progress=False)
    assert sweep.error.iloc[0].startswith("out of memory: CUDA out of memory")
    assert max_batch(sweep).empty


def test_max_batch_and_bn_savings_known_values():
    sweep = pd.DataFrame([{"config": "x", "resolution": 64, "filters_g": 64, "batchnorm": True, "param_mb": 100.0,
                           "summary_mb_per_image": 9.0, "input_mb_per_image": 1.0, "static_mb": 200.0,
                           "saved_fixed_mb": 0.0, "saved_mb_per_image": 3.0, "allowance_mb_per_image": 1.0}])
    table = max_batch(sweep, capacities_gb=(12,)).set_index("model")
    assert table.loc["summary", "12 GB"] == (12 * 1024 - 100) // 10
    assert table.loc["saved", "12 GB"] == (12 * 1024 - 200) // 5
    both = pd.concat([sweep, sweep.assign(batchnorm=False, summary_mb_per_image=6.0)])
    assert bn_savings(both, ["summary_mb_per_image"]).summary_mb_per_image_saving_pct.iloc[0] == pytest.approx(
        100 * 3 / 9)


def test_belmekki_reference_numbers():
    ref = belmekki_reference()
    assert ref["per_image_terms_mb"] == (53.96, 46.72)
    assert ref["batch_size"] == 64 and ref["batch_mb"] == pytest.approx(6443.52)
    assert ref["per_image_mb"] * 64 == pytest.approx(ref["batch_mb"])
    assert ref["bn_saving_pct"] == (1.2, 7.0)
    savings = pd.DataFrame([{"config": "belmekki_table2", "summary_total_mb_per_image_saving_pct": 2.0,
                             "summary_mb_per_image_saving_pct": 10.0},
                            {"config": "belmekki_fig8_generator", "summary_g_total_mb_per_image_saving_pct": 5.0}])
    table = compare_with_belmekki(savings, device="cpu").set_index("quantity")
    assert table.theirs.iloc[0] == pytest.approx(100.68)
    # torchsummary of Table II as described (64x64, 1 channel, 64 feature maps): G 2*4*(2*(512*16 + 256*64 +
    # 128*256 + 64*1024) + 2*4096) bytes, D 2*4*(2*64*1024 + 3*(128*256 + 256*64 + 512*16) + 1) bytes
    g = 2 * 4 * (2 * (512 * 16 + 256 * 64 + 128 * 256 + 64 * 1024) + 2 * 4096)
    d = 2 * 4 * (2 * 64 * 1024 + 3 * (128 * 256 + 256 * 64 + 512 * 16) + 1)
    assert table.ours.iloc[0] == pytest.approx((g + d) / MB)
    as_figure8 = table[table.index.str.contains("generator's BN")]
    assert list(as_figure8.ours) == [5.0, 5.0] and list(as_figure8.theirs) == [1.2, 7.0]
    assert table.ours.iloc[-1] == 2.0  # Table II's own BatchNorm (in D), labelled ours


def test_memory_notes_are_written_from_the_sweep():
    import pandas as pd

    from medgan_lib.memory.gan_memory import memory_notes

    sweep = pd.DataFrame({"config": ["t"] * 3, "resolution": [64] * 3, "filters_g": [32, 64, 128], "batchnorm": [True] * 3,
                          "summary_mb_per_image": [1.0, 2.0, 4.0]})
    savings = pd.DataFrame({"summary_total_mb_per_image_saving_pct": [0.9, 2.4]})
    notes = memory_notes(sweep, savings)
    assert "0.0312 MB per feature map, R² = 1.000 over 3 sizes (linear" in notes[0]
    assert "saves 0.9-2.4 %" in notes[1] and "outside their range" in notes[1]
    assert "needs at least 3" in memory_notes(sweep.head(2), savings.head(0))[0]


def test_compression_runs_train_shallower_table2_networks_apart_from_the_study(tmp_path):
    from medgan_lib.data.spec import DataSpec
    from medgan_lib.memory.compression import FOLDER, compression_runs, compression_table

    data = DataSpec(dataset="chest_phantom", resolution=32, count=40)
    runs = compression_runs([2, 8], "smoke", data, 2, str(tmp_path), filters=8)
    assert all(path.parent.parent == tmp_path / FOLDER for path in runs.values())
    assert not (tmp_path / "runs").exists()  # 03, 04 and 07 never see them
    table = compression_table(runs, "cpu").set_index("network")
    assert table.loc["stride 2", "layers"] == 4 and table.loc["stride 8", "layers"] == 2
    assert table.loc["stride 8", "params_g"] < table.loc["stride 2", "params_g"]
    assert table.loc["stride 8", "summary_mb_per_image"] < table.loc["stride 2", "summary_mb_per_image"]
    assert set(table["iterations"]) == {2}


def test_estimate_vs_measured_has_plain_tick_labels():
    import matplotlib

    matplotlib.use("Agg")
    from medgan_lib.memory.plots import plot_estimate_vs_measured

    fig = plot_estimate_vs_measured(pd.DataFrame(dict(estimate_mb=[40.0, 200, 650], summary_estimate_mb=[45.0, 100, 700],
                                                      measured_mb=[50.0, 180, 660])))
    fig.canvas.draw()
    ax = fig.axes[0]
    labels = [t.get_text() for t in [*ax.get_xticklabels(), *ax.get_yticklabels(),
                                     *ax.get_xminorticklabels(), *ax.get_yminorticklabels()] if t.get_text()]
    assert "100" in labels and "500" in labels and not any("10^" in t or "×" in t or "$" in t for t in labels)
