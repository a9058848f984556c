"""Help > Keyboard shortcuts lists every shortcut, read from the QActions (so it cannot drift);
tooltips name the keys; every view, menu and button of the shell has an icon; the app has its own."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from app.ui.shell.project import Project
from app.widgets.shortcuts import shortcut_text


def window(qtbot, project: Project):
    from app.ui.shell.main_window import MainWindow

    win = MainWindow(project=str(project.root), open_initial=False)
    qtbot.addWidget(win)
    win.discard_unsaved_on_close = True
    win.open_project(project.root)
    win.show()
    qtbot.waitExposed(win)
    QApplication.setActiveWindow(win)  # shortcuts reach the active window
    return win


def test_the_sheet_lists_the_shortcuts_of_every_view(qtbot, qapp_settings, demo_project: Project) -> None:
    win = window(qtbot, demo_project)
    rows = win.shortcuts()
    for expected in [("Application", "Open project…", "Ctrl+O"), ("Application", "Keyboard shortcuts", "F1"),
                     ("Application", "Training", "Ctrl+4"), ("Dataset", "Next image", "D, PgDown"),
                     ("Dataset", "Box", "B"), ("MTN Preview", "Open CSI file", "Ctrl+Shift+O"),
                     ("Config", "Search keys", "Ctrl+F"), ("Training", "Start", "F5"),
                     ("Training", "Stop", "Shift+F5")]:
        assert expected in rows, expected
    assert ("Application", "Quit", "Ctrl+Q") in rows  # not Qt's "Exit" key, which a bare X server gives Quit
    app_keys = {k for group, _, keys in rows if group == "Application" for k in keys.split(", ")}
    for view in win.views:  # no key means two things where a view is shown
        keys = [k for group, _, ks in rows if group == view for k in ks.split(", ")]
        assert len(keys) == len(set(keys)) and not app_keys & set(keys), view
    every = {(text, keys) for _, text, keys in rows}
    for action in win.findChildren(QAction):
        if shortcut_text(action):
            assert any(keys == shortcut_text(action) for _, keys in every)
    win.setFocus()
    qtbot.keyClick(win, Qt.Key.Key_F1)  # Help > Keyboard shortcuts
    sheet = win._sheets[-1]
    assert sheet.isVisible() and sheet.rows() == rows
    sheet.close()
    # a shortcut added later shows up: the sheet is read from the actions, not from a list
    extra = QAction("Fit curves", win.training_view)
    extra.setShortcut(QKeySequence("Ctrl+Alt+F"))
    win.training_view.addAction(extra)
    assert ("Training", "Fit curves", "Ctrl+Alt+F") in win.shortcuts()
    win.close()


def test_tooltips_name_the_keys(qtbot, qapp_settings, demo_project: Project) -> None:
    win = window(qtbot, demo_project)
    named = [a for a in win.findChildren(QAction) if shortcut_text(a)]
    assert len(named) > 20
    missing = [a.text() for a in named if shortcut_text(a) not in a.toolTip()]
    assert missing == []
    tv = win.training_view
    assert tv.start_button.toolTip().endswith("(F5)") and tv.stop_button.toolTip().endswith("(Shift+F5)")
    assert "(Ctrl+F5)" in tv.resume_ckpt_button.toolTip()
    assert win.mtn_preview_view.open_button.toolTip().endswith("(Ctrl+Shift+O)")
    search = win.config_view.form.search
    win.tabs.setCurrentWidget(win.training_view)
    win.tabs.tabBar().setFocus()
    qtbot.keyClick(win.tabs.tabBar(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert not search.hasFocus()  # the hidden Config view's Ctrl+F does nothing
    win.tabs.setCurrentWidget(win.config_view)  # the focus stays on the tab bar, as after a click on a tab
    win.tabs.tabBar().setFocus()
    qtbot.keyClick(win.tabs.tabBar(), Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(search.hasFocus, timeout=2000)  # Ctrl+F in the shown config view: the search
    win.close()


def test_icons_everywhere_and_a_window_icon_of_its_own(qtbot, qapp_settings, demo_project: Project) -> None:
    win = window(qtbot, demo_project)
    assert not win.windowIcon().isNull()
    image = win.windowIcon().pixmap(64, 64).toImage()
    assert image.pixelColor(32, 4).name() == "#1d3557"  # resources/icons/app.svg, not a blank or generic icon
    assert all(not win.tabs.tabIcon(i).isNull() for i in range(win.tabs.count()))
    menu_actions = [a for m in win.menuBar().actions() for a in m.menu().actions()
                    if not a.isSeparator() and a.menu() is None]  # not the recent projects' submenu
    assert len(menu_actions) >= 12
    assert [a.text() for a in menu_actions if a.icon().isNull()] == []
    tv = win.training_view
    for button in (tv.start_button, tv.pause_button, tv.stop_button, tv.resume_ckpt_button, tv.attach_button,
                   tv.detach_button, win.mtn_preview_view.open_button, win.config_view.open_button,
                   win.config_view.save_button, win.config_view.save_as_button):
        assert not button.icon().isNull(), button.text()
    win.close()
