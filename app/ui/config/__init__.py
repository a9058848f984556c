"""Config view: the whole ``get_cfg()`` tree in a searchable form; YAML read/write with ``_BASE_``."""
