# The delivery engine svrelayd links (see relayd/delivery.h).  relayd/local.mk
# adds these to svrelayd and to the tests that link relayd code.
DELIVERY_FILES = relayd/delivery.h relayd/delivery_stub.c
DELIVERY_LINK =
