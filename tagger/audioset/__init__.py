"""The pretrained AudioSet network (EfficientAT ``mn04_as``, Schmid et al. 2023, MIT).

- :mod:`tagger.audioset.melspec`: its front end in NumPy (pre-emphasis, STFT, Kaldi-scale
  mel, log), at 32 kHz as published and adapted to the pipeline's 16 kHz.
- :mod:`tagger.audioset.network`: the MobileNetV3 rebuilt in Keras from its NumPy
  weights (training and export only: it imports Keras).
- :mod:`tagger.audioset.gate`: the content gate that runs it (LiteRT) over a track's
  chunks and pools its feature map per window: speech / music / other.
"""
