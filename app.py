"""Router of the dashboard: page configuration, protections and navigation, all declared in indicators.ui.frame."""

from indicators.ui import frame

frame.run()
