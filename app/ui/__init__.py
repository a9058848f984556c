"""The application: the shell composes one package per feature; each wires widgets to the backend.

- ``shell``: QApplication start-up, the main window (menus, status bar, the project), the
  project file, screenshots. The only package that imports the feature packages.
- ``config``, ``training``, ``inference``, ``dataset`` (with the annotation editor),
  ``capture`` (import and pseudo-label dialogs), ``mtn_preview``: one view or dialog family
  each; they never import each other (import-linter independence contract).
- ``common``: what the features share: the error dialog and the model cache.

Background work runs on :class:`app.widgets.job_runner.JobRunner` (training on its own QThread
with the same signal contract).
"""
