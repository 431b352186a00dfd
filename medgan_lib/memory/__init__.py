"""Memory and compute of GANs (belmekki §III.E-F): hook-based accounting, measured peaks, sweeps."""

from medgan_lib.memory.accounting import (MB, ParameterMemory, SavedTensors, leaf_output_summary, parameter_memory,
                                          saved_tensor_memory, summary_mb_per_image)
from medgan_lib.memory.gan_memory import (ACCELERATORS_GB, GIB, analyse_gan, bn_savings, dataset_shape,
                                          feature_map_sweep, max_batch, memory_config)
from medgan_lib.memory.measure import peak_memory_delta, seconds_per_call, tensor_bytes
from medgan_lib.memory.reference import belmekki_reference, compare_with_belmekki

__all__ = ["MB", "GIB", "ACCELERATORS_GB", "ParameterMemory", "SavedTensors", "parameter_memory",
           "leaf_output_summary", "summary_mb_per_image", "saved_tensor_memory", "peak_memory_delta",
           "seconds_per_call", "tensor_bytes", "analyse_gan", "memory_config", "dataset_shape", "feature_map_sweep",
           "bn_savings", "max_batch", "belmekki_reference", "compare_with_belmekki"]
