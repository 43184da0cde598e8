"""Architecture presets (YAML data); loaded by genesys.arch."""
