# Loads the kcs pytest plugin (kcs_case fixture, @kcs.cases, results + HTML report at the end).
pytest_plugins = ["kcs.pytest_plugin"]
