"""2D pose-estimator output as a dataset: COCO-17 keypoints (MMPose, RTMPose/rtmlib, Ultralytics
YOLO-pose), OpenPose BODY_25 / COCO-18 and MediaPipe Pose (33 landmarks).

Every kind reads ``ROOT/<class name>/<video>`` (or ``ROOT/train|test/<class name>/<video>``), the class
being the folder's name, as :mod:`llmar.data.pose_folder` describes. What a <video> is, and the format
entry, per kind:

``coco_json``, :func:`load_coco_json`, in :mod:`llmar.data.coco_json`;
``openpose``, :func:`load_openpose`, in :mod:`llmar.data.openpose`;
``mediapipe``, :func:`load_mediapipe`, in :mod:`llmar.data.mediapipe`.

How the three are told apart by content is in :mod:`llmar.data.pose_sniff`. This module gathers their
loaders under the name they were first published with.
"""

from __future__ import annotations

from llmar.data.coco_json import load_coco_json
from llmar.data.mediapipe import load_mediapipe
from llmar.data.openpose import load_openpose

__all__ = ["load_coco_json", "load_mediapipe", "load_openpose"]
