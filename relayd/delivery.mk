# The delivery engine svrelayd links (see relayd/delivery.h).  relayd/local.mk
# adds these to svrelayd and to the tests that link relayd code.
SVRELAYD_DELIVERY_SOURCES = relayd/delivery.h relayd/delivery_stub.c
SVRELAYD_DELIVERY_LIBS =
