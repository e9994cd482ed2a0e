"""Router of the dashboard: page configuration, protections and navigation, all declared in ui.frame."""

from ui import frame

frame.run()
