"""Configuration: frozen dataclasses holding every default once (models.py: the models and the
tracker; pipeline.py: cameras, association, events, server, store, bus, results files; floor.py:
calibration, floor association, floor plan), their value checks (checks.py) and the file loader
(loader.py).
"""

from mctrt.config.floor import CalibrationConfig, FloorAssociationConfig, FloorPlanConfig
from mctrt.config.loader import config_from_dict, expand_env, from_mapping, load_config
from mctrt.config.models import BACKENDS, ByteTrackConfig, DetectorConfig, ReidConfig, check_backend
from mctrt.config.pipeline import (
    AssociationConfig,
    BusConfig,
    CameraHealthConfig,
    EventsConfig,
    InputConfig,
    LineConfig,
    OutputConfig,
    PipelineConfig,
    ReidScheduleConfig,
    ServerConfig,
    StoreConfig,
    TransitWindow,
    ZoneConfig,
)

__all__ = [
    "BACKENDS", "AssociationConfig", "BusConfig", "ByteTrackConfig", "CalibrationConfig", "CameraHealthConfig",
    "FloorAssociationConfig", "FloorPlanConfig", "DetectorConfig", "EventsConfig", "InputConfig", "LineConfig",
    "OutputConfig", "PipelineConfig", "ReidConfig", "ReidScheduleConfig", "ServerConfig", "StoreConfig", "TransitWindow", "ZoneConfig",
    "check_backend", "config_from_dict", "expand_env", "from_mapping", "load_config",
]
