"""What every feature view of the app uses: the error dialog, the model cache and the start folder
of file dialogs (:mod:`app.ui.common.start_folder`)."""
