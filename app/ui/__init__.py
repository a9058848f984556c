"""The application: main window, project, dialogs and file I/O; wires widgets to the backend."""
