"""Configuration: frozen dataclasses holding every default once (models.py: the models and the
tracker; pipeline.py: cameras, association, events, server, store) and the file loader (loader.py).
"""

from mctrt.config.loader import config_from_dict, expand_env, from_mapping, load_config
from mctrt.config.models import BACKENDS, ByteTrackConfig, DetectorConfig, ReidConfig, check_backend
from mctrt.config.pipeline import (
    AssociationConfig,
    EventsConfig,
    InputConfig,
    LineConfig,
    PipelineConfig,
    ReidScheduleConfig,
    ServerConfig,
    StoreConfig,
    TransitWindow,
    ZoneConfig,
)

__all__ = [
    "BACKENDS", "AssociationConfig", "ByteTrackConfig", "DetectorConfig", "EventsConfig", "InputConfig", "LineConfig",
    "PipelineConfig", "ReidConfig", "ReidScheduleConfig", "ServerConfig", "StoreConfig", "TransitWindow", "ZoneConfig",
    "check_backend", "config_from_dict", "expand_env", "from_mapping", "load_config",
]
