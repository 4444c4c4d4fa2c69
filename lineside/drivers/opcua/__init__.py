"""OPC UA driver (asyncua, driver.OpcuaDriver): polling and subscriptions, secured,
surviving restarts."""
