"""cliptail.evaluate"""
